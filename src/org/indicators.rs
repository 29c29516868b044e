//! 组织体系's indicators: the three rates of 三个百分百 and the full members on the
//! register, as the registry stands today (the period does not change them).

use super::establishment::{overview_in, Area, Finding, RateLine};
use crate::auth::Scope;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::indicators::{
    BranchFigures, BranchesFuture, Evidence, Figure, Gap, Indicator, Level, Measure, Period,
    ReadFuture, Reading, Subject, MAX_RECORDS,
};
use crate::state::AppState;

const RATE_LEVELS: &[Level] = &[Level::Unit, Level::Category, Level::City];
/// 应调尽调 and 应换尽换 also judge one branch: its own findings.
const ORG_LEVELS: &[Level] = &[Level::Branch, Level::Unit, Level::Category, Level::City];

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        key: "establishment.establish",
        label: "应建尽建",
        explain: "机关党组织中，党组织设置符合规定（有正式党员3名以上的应建立党支部等）的比例，按当前登记状态计算。依据《中国共产党支部工作条例（试行）》第四条。",
        measure: Measure::Rate,
        levels: RATE_LEVELS,
        by_period: false,
        read: read_rate,
        read_branches: None,
    },
    Indicator {
        key: "establishment.adjust",
        label: "应调尽调",
        explain: "党委、党总支、党支部中，规模与设置符合规定（党支部党员不超过50名、正式党员7人以上设支委会等）的比例，按当前登记状态计算。",
        measure: Measure::Rate,
        levels: ORG_LEVELS,
        by_period: false,
        read: read_rate,
        read_branches: Some(branches_rate),
    },
    Indicator {
        key: "establishment.renew",
        label: "应换尽换",
        explain: "党组织中任期未届满或已按期换届（含经批准延期）的比例，按当前登记状态计算。依据《关于党的基层组织任期的意见》：党支部每届任期3年或5年。",
        measure: Measure::Rate,
        levels: ORG_LEVELS,
        by_period: false,
        read: read_rate,
        read_branches: Some(branches_rate),
    },
    Indicator {
        key: "registry.branch_officers",
        label: "支部班子健全",
        explain: "党支部中班子健全的比例：正式党员7人以上的设支部委员会（委员3至5人，设书记，委员分工各不相同），不足7人的设书记。单个支部按应查项目计：7人以上查书记、支委人数、分工三项，不足7人查书记一项。按当前登记的本届委员计算。依据《中国共产党支部工作条例（试行）》第六章。",
        measure: Measure::Rate,
        levels: ORG_LEVELS,
        by_period: false,
        read: read_officers,
        read_branches: Some(branches_officers),
    },
    Indicator {
        key: "registry.full_members",
        label: "在册正式党员",
        explain: "在册（未转出、未去世、未出党）的正式党员人数，按当前登记状态计算。",
        measure: Measure::Count,
        levels: &[Level::Branch, Level::Unit, Level::Category, Level::City],
        by_period: false,
        read: read_full_members,
        read_branches: None,
    },
];

/// Whether `subject` exists and `scope` sees it: a branch through its unit or itself, a
/// unit in scope, a category with a unit in scope (the committee: any), the city always.
pub async fn subject_in_scope(
    state: &AppState,
    scope: &Scope,
    subject: Subject,
) -> AppResult<bool> {
    let sql = match subject {
        Subject::City => return Ok(true),
        Subject::Branch(id) => {
            let mut s =
                Sql::new("select count(*) from org o where o.kind = 'branch' and o.org_id = ");
            s.bind(id).push(" and ");
            scope.org_condition(&mut s);
            s
        }
        Subject::Unit(id) => {
            let mut s = Sql::new("select count(*) from unit u where u.unit_id = ");
            s.bind(id).push(" and ");
            scope.unit_condition(&mut s);
            s
        }
        Subject::Category(id) => {
            let mut s = Sql::new("select count(*) from category c where c.category_id = ");
            s.bind(id);
            if !scope.all {
                s.push(
                    " and exists (select 1 from unit u where u.category_id = c.category_id and ",
                );
                scope.unit_condition(&mut s);
                s.push(")");
            }
            s
        }
    };
    Ok(sql.fetch_scalar(&state.db.pool).await? > 0)
}

/// The part of `scope` a unit, category or the city covers, for 三个百分百's figures.
async fn narrowed(state: &AppState, scope: &Scope, subject: Subject) -> AppResult<Scope> {
    if !subject_in_scope(state, scope, subject).await? {
        return Err(AppError::NotFound);
    }
    Ok(match subject {
        Subject::Unit(id) => Scope {
            units: vec![id],
            ..Default::default()
        },
        Subject::Category(id) => {
            let mut s = Sql::new("select u.unit_id from unit u where u.category_id = ");
            s.bind(id).push(" and ");
            scope.unit_condition(&mut s);
            let units: Vec<(i64,)> = s.fetch_page(&state.db).await?;
            Scope {
                units: units.into_iter().map(|u| u.0).collect(),
                ..Default::default()
            }
        }
        Subject::City | Subject::Branch(_) => scope.clone(),
    })
}

fn finding_evidence(f: &Finding) -> Evidence {
    Evidence {
        kind: "finding".into(),
        id: f.org_id.unwrap_or(f.unit_id),
        label: format!(
            "{} · {}：{}。{}",
            f.unit_name, f.object, f.figures, f.advice
        ),
        href: f.href(),
        counts: false,
    }
}

fn read_rate<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    ind: &'static Indicator,
    subject: Subject,
    _: Period,
) -> ReadFuture<'a> {
    Box::pin(async move {
        if let Subject::Branch(id) = subject {
            if !subject_in_scope(state, scope, subject).await? {
                return Err(AppError::NotFound);
            }
            let o = overview_in(state, &crate::auth::Scope::everything(), "").await?;
            let area = area_of(ind.key);
            let records: Vec<Evidence> = o
                .findings
                .iter()
                .filter(|f| f.area == area && !f.warning && f.org_id == Some(id))
                .map(finding_evidence)
                .collect();
            let ok = i64::from(records.is_empty());
            return Ok(Reading::share(ok, 1, records));
        }
        let within = narrowed(state, scope, subject).await?;
        let o = overview_in(state, &within, "").await?;
        let t: &RateLine = &o.total;
        let area = area_of(ind.key);
        let (ok, all) = match area {
            Area::Establish => (t.units_ok, t.units),
            Area::Adjust => (t.orgs_adjust_ok, t.orgs_adjust),
            Area::Renew => (t.orgs_renew_ok, t.orgs_renew),
        };
        let records = o
            .findings
            .iter()
            .filter(|f| f.area == area && !f.warning)
            .map(finding_evidence)
            .collect();
        Ok(Reading::share(ok, all, records))
    })
}

fn read_full_members<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    _: &'static Indicator,
    subject: Subject,
    _: Period,
) -> ReadFuture<'a> {
    Box::pin(async move {
        if !subject_in_scope(state, scope, subject).await? {
            return Err(AppError::NotFound);
        }
        let filter = |sql: &mut Sql| {
            match subject {
                Subject::Branch(id) => {
                    sql.push(" and m.branch_id = ").bind(id);
                }
                Subject::Unit(id) => {
                    sql.push(" and m.unit_id = ").bind(id);
                }
                Subject::Category(id) => {
                    sql.push(" and u.category_id = ").bind(id);
                }
                Subject::City => {}
            }
            sql.push(" and ");
            scope.member_condition(sql);
        };
        let from = "from member m join unit u on u.unit_id = m.unit_id join org b on b.org_id = m.branch_id \
                    where m.status = 'active' and m.kind = 'full'";
        let mut count = Sql::new(&format!("select count(*) {from}"));
        filter(&mut count);
        let n = count.fetch_scalar(&state.db.pool).await?;
        let mut rows = Sql::new(&format!(
            "select m.member_id, u.name || ' · ' || b.name || '：' || m.name {from}"
        ));
        filter(&mut rows);
        rows.push(" order by m.unit_id, m.branch_id, m.member_id limit ")
            .bind(MAX_RECORDS as i64);
        let members: Vec<(i64, String)> = rows.fetch_page(&state.db).await?;
        let mut r = Reading::count(
            n,
            members
                .into_iter()
                .map(|(id, label)| Evidence {
                    kind: "member".into(),
                    id,
                    label,
                    href: format!("/org/members/{id}"),
                    counts: true,
                })
                .collect(),
        );
        r.records_total = usize::try_from(n).unwrap_or(0);
        Ok(r)
    })
}

fn area_of(key: &str) -> Area {
    match key {
        "establishment.establish" => Area::Establish,
        "establishment.adjust" => Area::Adjust,
        _ => Area::Renew,
    }
}

/// Every branch: set up as the rules say (no open finding of the area about it) or not,
/// with the findings as gaps, each linking to where it is put right.
fn branches_rate<'a>(
    state: &'a AppState,
    ind: &'static Indicator,
    _: Period,
) -> BranchesFuture<'a> {
    Box::pin(async move {
        let o = overview_in(state, &crate::auth::Scope::everything(), "").await?;
        let area = area_of(ind.key);
        let mut gaps: std::collections::HashMap<i64, Vec<Gap>> = std::collections::HashMap::new();
        for f in o.findings.iter().filter(|f| f.area == area && !f.warning) {
            if let Some(id) = f.org_id {
                gaps.entry(id).or_default().push(Gap {
                    label: format!("{}：{}。{}", f.object, f.figures, f.advice),
                    href: f.href(),
                });
            }
        }
        let branches: Vec<(i64,)> = Sql::new("select org_id from org where kind = 'branch'")
            .fetch_page(&state.db)
            .await?;
        let mut out = BranchFigures::new();
        for (id,) in branches {
            let g = gaps.remove(&id).unwrap_or_default();
            let ok = i64::from(g.is_empty());
            out.insert(id, Figure::share(ok, 1, g));
        }
        Ok(out)
    })
}

/// One branch as 班子健全 sees it.
struct OfficerLine {
    org_id: i64,
    label: String,
    due: i64,
    lacks: Vec<String>,
}

impl OfficerLine {
    fn gaps(&self) -> Vec<Gap> {
        self.lacks
            .iter()
            .map(|l| Gap {
                label: format!("{}：{l}", self.label),
                href: format!("/org/orgs/{}", self.org_id),
            })
            .collect()
    }

    fn met(&self) -> i64 {
        (self.due - i64::try_from(self.lacks.len()).unwrap_or(0)).max(0)
    }
}

/// Every branch `scope` covers (or the one branch `only`), with its full members and the
/// posts of its officers who are still on the register, judged by the rule.
async fn officer_lines(
    state: &AppState,
    scope: &Scope,
    only: Option<i64>,
) -> AppResult<Vec<OfficerLine>> {
    let filter = |sql: &mut Sql| {
        sql.push(" and ");
        scope.org_condition(sql);
        if let Some(id) = only {
            sql.push(" and o.org_id = ").bind(id);
        }
    };
    let mut branches = Sql::new(
        "select o.org_id, u.name || ' · ' || o.name, count(m.member_id) from org o \
         join unit u on u.unit_id = o.unit_id \
         left join member m on m.branch_id = o.org_id and m.status = 'active' and m.kind = 'full' \
         where o.kind = 'branch'",
    );
    filter(&mut branches);
    branches.push(" group by o.org_id, u.name, o.name order by o.unit_id, o.sort_order, o.org_id");
    let branches: Vec<(i64, String, i64)> = branches.fetch_page(&state.db).await?;
    let mut posts = Sql::new(
        "select f.org_id, f.post from org_officer f join org o on o.org_id = f.org_id \
         join member m on m.member_id = f.member_id \
         where o.kind = 'branch' and m.status = 'active'",
    );
    filter(&mut posts);
    let posts: Vec<(i64, String)> = posts.fetch_page(&state.db).await?;
    let mut by_org: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for (org, post) in posts {
        by_org.entry(org).or_default().push(post);
    }
    Ok(branches
        .into_iter()
        .map(|(org_id, label, full)| {
            let held = by_org.remove(&org_id).unwrap_or_default();
            let held: Vec<&str> = held.iter().map(String::as_str).collect();
            let (due, lacks) = super::establishment::branch_officer_checks(full, &held);
            OfficerLine {
                org_id,
                label,
                due,
                lacks,
            }
        })
        .collect())
}

/// 班子健全 of a branch (its checks met of due) or of a unit, category or the city (the
/// share of its branches that lack nothing), with what is lacking as the records.
fn read_officers<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    _: &'static Indicator,
    subject: Subject,
    _: Period,
) -> ReadFuture<'a> {
    Box::pin(async move {
        let evidence = |l: &OfficerLine| -> Vec<Evidence> {
            l.lacks
                .iter()
                .map(|x| Evidence {
                    kind: "org".into(),
                    id: l.org_id,
                    label: format!("{}：{x}", l.label),
                    href: format!("/org/orgs/{}", l.org_id),
                    counts: false,
                })
                .collect()
        };
        if let Subject::Branch(id) = subject {
            if !subject_in_scope(state, scope, subject).await? {
                return Err(AppError::NotFound);
            }
            let lines = officer_lines(state, &Scope::everything(), Some(id)).await?;
            let Some(l) = lines.first() else {
                return Err(AppError::NotFound);
            };
            return Ok(Reading::share(l.met(), l.due, evidence(l)));
        }
        let within = narrowed(state, scope, subject).await?;
        let lines = officer_lines(state, &within, None).await?;
        let ok = lines.iter().filter(|l| l.lacks.is_empty()).count();
        let records = lines.iter().flat_map(evidence).collect();
        Ok(Reading::share(
            i64::try_from(ok).unwrap_or(0),
            i64::try_from(lines.len()).unwrap_or(0),
            records,
        ))
    })
}

/// Every branch's 班子健全: its checks met of due, what it lacks as gaps.
fn branches_officers<'a>(
    state: &'a AppState,
    _: &'static Indicator,
    _: Period,
) -> BranchesFuture<'a> {
    Box::pin(async move {
        let mut out = BranchFigures::new();
        for l in officer_lines(state, &Scope::everything(), None).await? {
            out.insert(l.org_id, Figure::share(l.met(), l.due, l.gaps()));
        }
        Ok(out)
    })
}
