//! First start: the six categories with their requirements, the common goal, and the
//! first admin (committee and system admin). Idempotent: runs at every start and changes nothing twice.

use crate::audit::{Actor, Entry};
use crate::auth::store::{self, NewGrant, NewUser};
use crate::clock::now;
use crate::state::AppState;

/// The six categories of the glossary: code, name, requirement title, requirements.
pub const CATEGORIES: [(&str, &str, &str, [&str; 3]); 6] = [
    (
        "general_affairs",
        "党政综合类",
        "三个强化",
        ["强化示范带动", "强化坚持服务大局", "强化党建引领"],
    ),
    (
        "economic",
        "经济发展类",
        "三个坚决",
        [
            "坚决贯彻中央和省、市委经济工作决策部署",
            "坚决完成年度经济工作目标",
            "坚决有力有效服务企业和群众",
        ],
    ),
    (
        "law_enforcement",
        "执法监督类",
        "三个坚持",
        [
            "坚持依法行政、公正司法",
            "坚持规范服务、群众满意",
            "坚持党员带头、争作标兵",
        ],
    ),
    (
        "public_affairs",
        "公共事务类",
        "三个充分",
        [
            "充分发挥机关党组织的凝聚力",
            "充分发挥机关服务基层、服务群众职能",
            "充分发挥党员先锋模范作用",
        ],
    ),
    (
        "mass_org",
        "群团事业类",
        "三个着力",
        [
            "着力加强党的全面领导",
            "着力强化履职尽责",
            "着力创新活动载体",
        ],
    ),
    (
        "soe",
        "国有企业类",
        "三个全面",
        [
            "全面落实《中国共产党国有企业基层组织工作条例（试行）》",
            "全面落实党组织职责和党员责任",
            "全面落实党管人才原则",
        ],
    ),
];

/// 一坚持六着力.
pub const COMMON_GOAL: [&str; 7] = [
    "坚持以党的政治建设为统领",
    "着力深化理论武装",
    "着力夯实基层基础",
    "着力推进正风肃纪",
    "着力压实工作责任",
    "着力推动深度融合",
    "着力提升创新能力",
];

pub async fn seed_reference_data(state: &AppState) -> anyhow::Result<()> {
    // The grading standard of STANDARD.md, on its own check: databases that already had
    // categories before it existed get it too.
    crate::grading::store::seed_default(state).await?;
    let n: i64 = sqlx::query_scalar("select count(*) from category")
        .fetch_one(&state.db.pool)
        .await?;
    if n > 0 {
        return Ok(());
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    for (i, (code, name, title, reqs)) in CATEGORIES.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "insert into category (code, name, requirement_title, sort_order, created_at, updated_at) values ($1, $2, $3, $4, $5, $6) returning category_id",
        )
        .bind(*code)
        .bind(*name)
        .bind(*title)
        .bind(i as i64 + 1)
        .bind(t)
        .bind(t)
        .fetch_one(tx.conn())
        .await?;
        for (j, r) in reqs.iter().enumerate() {
            sqlx::query("insert into category_requirement (category_id, sort_order, body) values ($1, $2, $3)")
                .bind(id)
                .bind(j as i64 + 1)
                .bind(*r)
                .execute(tx.conn())
                .await?;
        }
    }
    for (i, g) in COMMON_GOAL.iter().enumerate() {
        sqlx::query("insert into common_goal (sort_order, body) values ($1, $2)")
            .bind(i as i64 + 1)
            .bind(*g)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        &Actor::system(),
        Entry::new(
            "system.bootstrap",
            "category",
            "",
            "预置六个类别及其个性要求、共性目标",
        ),
    )
    .await?;
    tx.commit().await
}

/// Seeds reference data and, on an empty user table, creates `admin`.
/// Returns the generated password when one was generated (to be printed once).
pub async fn ensure_initial_data(state: &AppState) -> anyhow::Result<Option<String>> {
    seed_reference_data(state).await?;
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&state.db.pool)
        .await?;
    if users > 0 {
        return Ok(None);
    }
    let (password, generated) = match &state.config.initial_admin_password {
        Some(p) => (p.clone(), false),
        None => (crate::auth::password::generate(), true),
    };
    store::create_user(
        state,
        &Actor::system(),
        NewUser {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            password: password.clone(),
            must_change_password: generated,
        },
        // The first account sets the city up (committee) and creates the other accounts,
        // the security and audit admins among them (system admin). Once those exist, the
        // home page asks for it to be renamed or disabled.
        &["committee", "system_admin"].map(|role| NewGrant {
            role: role.into(),
            unit_id: None,
            org_id: None,
            member_id: None,
            community_id: None,
        }),
    )
    .await
    .map_err(|e| anyhow::anyhow!("创建初始管理员失败：{e}"))?;
    if generated {
        println!("================================================================");
        println!(" 已创建初始管理员  用户名：admin  一次性密码：{password}");
        println!(" 首次登录后须修改密码。此密码不会再次显示。");
        println!("================================================================");
        Ok(Some(password))
    } else {
        println!("已创建初始管理员 admin（密码来自 YAOSHI_INITIAL_ADMIN_PASSWORD）");
        Ok(None)
    }
}
