//! Pure rules of the hotline: the fields a work order has and the column mapping that finds
//! them in a centre's export, reading a row into an order (times, callback results,
//! resolution, reopenings), what an order adds to its unit's months, the rates, the periods
//! a figure is read over, and the units at the bottom. No I/O.

use std::collections::BTreeMap;

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

crate::choice! {
    /// What the callback (回访) found.
    pub enum Callback {
        Satisfied = "satisfied", "满意", ["非常满意", "比较满意"];
        Basic = "basic", "基本满意", [];
        Dissatisfied = "dissatisfied", "不满意", ["非常不满意", "不太满意"];
        Unreached = "unreached", "未回访成功", ["未接通", "无法联系", "联系不上", "未联系上", "拒绝回访", "拒访", "未回访"];
    }
}

impl Callback {
    /// The caller was reached and gave a verdict: it counts in the satisfaction rate.
    pub fn reached(self) -> bool {
        !matches!(self, Callback::Unreached)
    }

    /// Satisfied or basically satisfied (满意 + 基本满意).
    pub fn satisfied(self) -> bool {
        matches!(self, Callback::Satisfied | Callback::Basic)
    }
}

crate::choice! {
    /// A field of a work order, as a column mapping names it.
    pub enum Field {
        OrderNo = "order_no", "工单编号", [];
        ReceivedAt = "received_at", "受理时间", [];
        Unit = "unit", "承办单位", [];
        Deadline = "deadline", "办理时限", [];
        ClosedAt = "closed_at", "办结时间", [];
        Callback = "callback", "回访结果", [];
        Resolved = "resolved", "是否解决", [];
        Reopened = "reopened", "重办次数", [];
        Title = "title", "诉求标题", [];
    }
}

impl Field {
    pub fn required(self) -> bool {
        matches!(
            self,
            Field::OrderNo | Field::ReceivedAt | Field::Unit | Field::Deadline
        )
    }

    /// Headers hotline centres write for the field, for guessing a mapping.
    fn headers(self) -> &'static [&'static str] {
        match self {
            Field::OrderNo => &["工单编号", "工单号", "工单编码", "单号", "编号"],
            Field::ReceivedAt => &["受理时间", "来电时间", "登记时间", "派单时间", "创建时间"],
            Field::Unit => &["承办单位", "责任单位", "办理单位", "主办单位", "承办部门"],
            Field::Deadline => &["办理时限", "办结时限", "截止时间", "到期时间", "限办时间"],
            Field::ClosedAt => &["办结时间", "完成时间", "结单时间", "办理完成时间"],
            Field::Callback => &["回访结果", "回访满意度", "满意度", "满意度评价"],
            Field::Resolved => &["是否解决", "解决情况", "问题是否解决"],
            Field::Reopened => &["重办次数", "退回重办次数", "是否重办", "重办"],
            Field::Title => &["诉求标题", "标题", "诉求内容", "事项"],
        }
    }
}

/// Where each field is found: the column's header, per field. Saved per source as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    pub columns: BTreeMap<&'static str, String>,
}

impl Mapping {
    pub fn get(&self, f: Field) -> Option<&str> {
        self.columns.get(f.as_str()).map(String::as_str)
    }

    pub fn set(&mut self, f: Field, header: &str) {
        let h = header.trim();
        if h.is_empty() {
            self.columns.remove(f.as_str());
        } else {
            self.columns.insert(f.as_str(), h.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.columns).unwrap_or_else(|_| "{}".into())
    }

    /// A saved mapping; unknown fields or values that are not text are refused.
    pub fn parse(json: &str) -> Result<Mapping, String> {
        let raw: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|_| "列对应关系不是有效的 JSON 对象".to_string())?;
        let mut m = Mapping::default();
        for (k, v) in raw {
            let f = Field::from_key(&k).ok_or_else(|| format!("列对应关系中有未知字段“{k}”"))?;
            let h = v
                .as_str()
                .ok_or_else(|| format!("字段“{}”对应的列名应为文字", f.label()))?;
            m.set(f, h);
        }
        Ok(m)
    }

    /// A mapping guessed from a header row: each field to the first header it is known by.
    pub fn guess(headers: &[String]) -> Mapping {
        let mut m = Mapping::default();
        for f in Field::ALL {
            let found = f.headers().iter().find_map(|name| {
                headers
                    .iter()
                    .find(|h| normalize_header(h) == *name)
                    .map(|h| h.trim().to_string())
            });
            if let Some(h) = found {
                m.set(f, &h);
            }
        }
        m
    }

    /// The column index of every mapped field in `headers`; every required field unmapped
    /// and every mapped header not in the file is named.
    pub fn resolve(&self, headers: &[String]) -> Result<Columns, Vec<String>> {
        let mut cols = Columns::default();
        let mut errors = Vec::new();
        for f in Field::ALL {
            match self.get(f) {
                None if f.required() => errors.push(format!(
                    "必填字段“{}”没有对应的列，请在列对应关系中选择",
                    f.label()
                )),
                None => {}
                Some(h) => match headers
                    .iter()
                    .position(|x| normalize_header(x) == normalize_header(h))
                {
                    Some(i) => {
                        cols.index.insert(f.as_str(), i);
                    }
                    None => errors.push(format!(
                        "字段“{}”对应的列“{h}”在文件的表头中找不到",
                        f.label()
                    )),
                },
            }
        }
        if errors.is_empty() {
            Ok(cols)
        } else {
            Err(errors)
        }
    }
}

/// A header as compared: spaces and a trailing colon or asterisk (必填 marks) dropped.
pub fn normalize_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .trim_end_matches(['*', '＊', ':', '：'])
        .to_string()
}

/// The column index of each mapped field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    index: BTreeMap<&'static str, usize>,
}

impl Columns {
    pub fn of(&self, f: Field) -> Option<usize> {
        self.index.get(f.as_str()).copied()
    }
}

/// The row that holds the headers: the first of the first ten rows holding the mapped (or a
/// known) header of the order number. Exports often put a title above the table.
pub fn header_row(rows: &[Vec<String>], mapping: &Mapping) -> Option<usize> {
    let wanted: Vec<String> = match mapping.get(Field::OrderNo) {
        Some(h) => vec![normalize_header(h)],
        None => Field::OrderNo
            .headers()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    rows.iter()
        .take(10)
        .position(|r| r.iter().any(|c| wanted.contains(&normalize_header(c))))
}

/// A row error: the row as the file numbers it, the column's header, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub column: String,
    pub message: String,
}

/// A work order read from a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    pub order_no: String,
    pub unit_text: String,
    pub title: String,
    pub received_at: i64,
    pub deadline: i64,
    pub closed_at: Option<i64>,
    pub reopened: i64,
    pub callback: Option<Callback>,
    pub resolved: Option<bool>,
}

/// The longest order number kept.
pub const MAX_ORDER_NO: usize = 64;
/// The longest title kept (longer ones are cut, not refused: they are only shown).
pub const MAX_TITLE: usize = 200;

/// Reads one row through the columns; every problem of the row is returned, each naming its
/// column by the file's header.
pub fn read_row(
    row: &[String],
    cols: &Columns,
    headers: &[String],
    offset: UtcOffset,
) -> Result<OrderRow, Vec<Problem>> {
    let cell = |f: Field| -> &str { cols.of(f).and_then(|i| row.get(i)).map_or("", |s| s.trim()) };
    let header = |f: Field| -> String {
        cols.of(f)
            .and_then(|i| headers.get(i))
            .map_or_else(|| f.label().to_string(), |h| h.trim().to_string())
    };
    let mut problems = Vec::new();
    let mut fail = |f: Field, message: String| {
        problems.push(Problem {
            column: header(f),
            message,
        })
    };
    let order_no = cell(Field::OrderNo).to_string();
    if order_no.is_empty() {
        fail(Field::OrderNo, "工单编号不能为空".into());
    } else if order_no.chars().count() > MAX_ORDER_NO {
        fail(
            Field::OrderNo,
            format!("工单编号超过 {MAX_ORDER_NO} 个字符"),
        );
    }
    let unit_text = cell(Field::Unit).to_string();
    if unit_text.is_empty() {
        fail(Field::Unit, "承办单位不能为空".into());
    }
    let mut instant = |f: Field, end_of_day: bool, required: bool| -> Option<i64> {
        let v = cell(f);
        if v.is_empty() {
            if required {
                fail(f, format!("{}不能为空", f.label()));
            }
            return None;
        }
        match parse_instant(v, end_of_day, offset) {
            Ok(t) => Some(t),
            Err(e) => {
                fail(f, e);
                None
            }
        }
    };
    let received_at = instant(Field::ReceivedAt, false, true);
    // A deadline given as a day runs to the day's end.
    let deadline = instant(Field::Deadline, true, true);
    let closed_at = instant(Field::ClosedAt, false, false);
    let callback = match cell(Field::Callback) {
        "" => None,
        v => match Callback::parse(v) {
            Some(c) => Some(c),
            None => {
                fail(
                    Field::Callback,
                    format!("回访结果“{v}”无法识别，应为满意、基本满意、不满意或未回访成功"),
                );
                None
            }
        },
    };
    let resolved = match parse_resolved(cell(Field::Resolved)) {
        Ok(r) => r,
        Err(e) => {
            fail(Field::Resolved, e);
            None
        }
    };
    let reopened = match parse_reopened(cell(Field::Reopened)) {
        Ok(n) => n,
        Err(e) => {
            fail(Field::Reopened, e);
            0
        }
    };
    if let (Some(r), Some(d)) = (received_at, deadline) {
        if d < r {
            fail(Field::Deadline, "办理时限早于受理时间".into());
        }
    }
    if let (Some(r), Some(c)) = (received_at, closed_at) {
        if c < r {
            fail(Field::ClosedAt, "办结时间早于受理时间".into());
        }
    }
    if closed_at.is_none() && cell(Field::ClosedAt).is_empty() && callback.is_some() {
        fail(
            Field::Callback,
            "工单未办结（没有办结时间），不应有回访结果".into(),
        );
    }
    let title: String = cell(Field::Title).chars().take(MAX_TITLE).collect();
    match (received_at, deadline) {
        (Some(received_at), Some(deadline)) if problems.is_empty() => Ok(OrderRow {
            order_no,
            unit_text,
            title,
            received_at,
            deadline,
            closed_at,
            reopened,
            callback,
            resolved,
        }),
        _ => Err(problems),
    }
}

/// 是否解决: 已解决 / 解决 / 是 → resolved; 未解决 / 部分解决 / 否 → not; empty → not said.
pub fn parse_resolved(s: &str) -> Result<Option<bool>, String> {
    match s.trim() {
        "" => Ok(None),
        "已解决" | "解决" | "是" | "Y" | "y" | "1" => Ok(Some(true)),
        "未解决" | "部分解决" | "不解决" | "否" | "N" | "n" | "0" => Ok(Some(false)),
        v => Err(format!("是否解决“{v}”无法识别，应为已解决或未解决")),
    }
}

/// 重办次数: a whole number, or 是/否; empty is none.
pub fn parse_reopened(s: &str) -> Result<i64, String> {
    match s.trim() {
        "" | "否" => Ok(0),
        "是" => Ok(1),
        v => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=99).contains(n))
            .ok_or_else(|| format!("重办次数“{v}”应为 0 至 99 的整数，或“是”“否”")),
    }
}

/// A time as exports write it, read in `offset` (Beijing): `2022-03-01 10:22:33`,
/// `2022/3/1 10:22`, `2022-03-01T10:22`, `2022年3月1日 10:22`, `2022-03-01`, `20220301`, or an
/// Excel serial (`44621`, `44621.4375`). A day alone is its first second, or its last when
/// `end_of_day` (a deadline).
pub fn parse_instant(s: &str, end_of_day: bool, offset: UtcOffset) -> Result<i64, String> {
    let bad = || format!("时间“{s}”无法识别，应写作 2022-03-01 10:30 或 2022-03-01");
    let v = s.trim();
    // An Excel serial: days since 1899-12-30 and the fraction of the day.
    if let Ok(serial) = v.parse::<f64>() {
        if v.len() == 8 && !v.contains('.') {
            // 20220301
            if let (Ok(y), Ok(m), Ok(d)) = (v[..4].parse(), v[4..6].parse(), v[6..].parse()) {
                return day_time(y, m, d, None, end_of_day, offset).ok_or_else(bad);
            }
        }
        if !(1.0..2_958_466.0).contains(&serial) {
            return Err(bad());
        }
        let days = serial.trunc() as i64;
        let secs = ((serial - serial.trunc()) * 86_400.0).round() as i64;
        let base = Date::from_calendar_date(1899, Month::December, 30).map_err(|_| bad())?;
        let date = base
            .checked_add(time::Duration::days(days))
            .ok_or_else(bad)?;
        let whole_day = secs == 0;
        let t = PrimitiveDateTime::new(date, Time::MIDNIGHT)
            .assume_offset(offset)
            .unix_timestamp();
        return Ok(if whole_day && end_of_day {
            t + 86_399
        } else {
            t + secs
        });
    }
    let norm: String = v
        .replace(['年', '月', '/'], "-")
        .replace('日', " ")
        .replace(['时', '点'], ":")
        .replace('分', ":")
        .replace('秒', "")
        .replace('T', " ");
    let norm = norm.trim().trim_end_matches(':').trim();
    let (date_part, time_part) = match norm.split_once(' ') {
        Some((d, t)) => (d.trim(), Some(t.trim())),
        None => (norm, None),
    };
    // 2022.3.1 as well; a dot in the time part is a fraction of a second.
    let date_part = date_part.replace('.', "-");
    let mut ymd = date_part.split('-');
    let (Some(y), Some(m), Some(d), None) = (ymd.next(), ymd.next(), ymd.next(), ymd.next()) else {
        return Err(bad());
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) else {
        return Err(bad());
    };
    let hms = match time_part.filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let parts: Vec<&str> = t.split(':').map(str::trim).collect();
            if parts.len() < 2 || parts.len() > 3 {
                return Err(bad());
            }
            let n = |i: usize| -> Option<u8> {
                parts.get(i).map_or(Some(0), |p| {
                    // Seconds may carry a fraction (10:22:33.000).
                    p.split('.').next().and_then(|x| x.parse().ok())
                })
            };
            Some((
                n(0).ok_or_else(bad)?,
                n(1).ok_or_else(bad)?,
                n(2).ok_or_else(bad)?,
            ))
        }
    };
    day_time(y, m, d, hms, end_of_day, offset).ok_or_else(bad)
}

fn day_time(
    y: i32,
    m: u8,
    d: u8,
    hms: Option<(u8, u8, u8)>,
    end_of_day: bool,
    offset: UtcOffset,
) -> Option<i64> {
    if !(1990..=2100).contains(&y) {
        return None;
    }
    let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
    let (time, plus) = match hms {
        Some((h, mi, s)) => (Time::from_hms(h, mi, s).ok()?, 0),
        None if end_of_day => (Time::MIDNIGHT, 86_399),
        None => (Time::MIDNIGHT, 0),
    };
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .unix_timestamp()
            + plus,
    )
}

/// `YYYY-MM` of an instant in `offset`.
pub fn month_of(t: i64, offset: UtcOffset) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(t)
        .map(|x| x.to_offset(offset).date())
        .unwrap_or(Date::MIN);
    format!("{:04}-{:02}", d.year(), d.month() as u8)
}

/// What orders add to a unit's month (the aggregates), and what a figure is read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Received in the month.
    pub received: i64,
    /// Due (deadline) in the month.
    pub due: i64,
    /// Of those due, closed by the deadline.
    pub on_time: i64,
    /// Closed in the month.
    pub closed: i64,
    /// Of those closed, the callback reached the caller with a verdict.
    pub reached: i64,
    /// Of those reached, satisfied or basically satisfied.
    pub satisfied: i64,
    /// Of those closed, the callback said whether it was resolved.
    pub resolved_known: i64,
    /// Of those, resolved.
    pub resolved: i64,
    /// Of those closed, sent back for handling again at least once.
    pub reopened: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.received += o.received;
        self.due += o.due;
        self.on_time += o.on_time;
        self.closed += o.closed;
        self.reached += o.reached;
        self.satisfied += o.satisfied;
        self.resolved_known += o.resolved_known;
        self.resolved += o.resolved;
        self.reopened += o.reopened;
    }

    pub fn sub(&mut self, o: &Counts) {
        self.received -= o.received;
        self.due -= o.due;
        self.on_time -= o.on_time;
        self.closed -= o.closed;
        self.reached -= o.reached;
        self.satisfied -= o.satisfied;
        self.resolved_known -= o.resolved_known;
        self.resolved -= o.resolved;
        self.reopened -= o.reopened;
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// 按时办结率: closed by the deadline of those due.
    pub fn on_time_rate(&self) -> Option<f64> {
        percent(self.on_time, self.due)
    }

    /// 回访满意率: satisfied and basically satisfied of the callbacks that reached someone.
    pub fn satisfaction_rate(&self) -> Option<f64> {
        percent(self.satisfied, self.reached)
    }

    /// 问题解决率: resolved of the callbacks that said.
    pub fn resolution_rate(&self) -> Option<f64> {
        percent(self.resolved, self.resolved_known)
    }

    /// 重办率: reopened of those closed.
    pub fn reopened_rate(&self) -> Option<f64> {
        percent(self.reopened, self.closed)
    }

    pub fn late(&self) -> i64 {
        self.due - self.on_time
    }

    pub fn dissatisfied(&self) -> i64 {
        self.reached - self.satisfied
    }

    pub fn unresolved(&self) -> i64 {
        self.resolved_known - self.resolved
    }
}

/// A share in percent, one decimal; `None` when nothing is counted.
pub fn percent(met: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| (met as f64 * 1000.0 / of as f64).round() / 10.0)
}

/// `92.5%`, or `—` when nothing is counted.
pub fn percent_text(p: Option<f64>) -> String {
    p.map_or_else(|| "—".into(), |v| format!("{v:.1}%"))
}

/// The months an order counts in, with what it adds to each: received in its month, due in
/// its deadline's, and closed (with its callback) in its closing's.
pub fn contributions(o: &OrderRow, offset: UtcOffset) -> Vec<(String, Counts)> {
    let mut out = vec![
        (
            month_of(o.received_at, offset),
            Counts {
                received: 1,
                ..Counts::default()
            },
        ),
        (
            month_of(o.deadline, offset),
            Counts {
                due: 1,
                on_time: i64::from(o.closed_at.is_some_and(|c| c <= o.deadline)),
                ..Counts::default()
            },
        ),
    ];
    if let Some(c) = o.closed_at {
        let reached = o.callback.is_some_and(Callback::reached);
        out.push((
            month_of(c, offset),
            Counts {
                closed: 1,
                reached: i64::from(reached),
                satisfied: i64::from(reached && o.callback.is_some_and(Callback::satisfied)),
                resolved_known: i64::from(o.resolved.is_some()),
                resolved: i64::from(o.resolved == Some(true)),
                reopened: i64::from(o.reopened > 0),
                ..Counts::default()
            },
        ));
    }
    out
}

/// The months a figure is read over, `from..=to` (`YYYY-MM`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MonthRange {
    pub from: String,
    pub to: String,
}

/// The longest range read: ten years of months.
pub const MAX_MONTHS: i32 = 120;

impl MonthRange {
    pub fn year(y: i32) -> MonthRange {
        MonthRange {
            from: format!("{y:04}-01"),
            to: format!("{y:04}-12"),
        }
    }

    /// `year` with `within`: `q1`…`q4`, `h1`/`h2`, `m1`…`m12` or empty for the whole year; or
    /// `from`–`to` as `YYYY-MM` (either alone is one month), which wins when given.
    pub fn parse(
        year: i32,
        within: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<MonthRange, (&'static str, String)> {
        let from = from.map(str::trim).filter(|s| !s.is_empty());
        let to = to.map(str::trim).filter(|s| !s.is_empty());
        if from.is_some() || to.is_some() {
            let f = match from.or(to).map(parse_month) {
                Some(Some(m)) => m,
                _ => return Err(("from", "起始月份应写作 2022-01".into())),
            };
            let t = match to.or(from).map(parse_month) {
                Some(Some(m)) => m,
                _ => return Err(("to", "截止月份应写作 2022-12".into())),
            };
            if t < f {
                return Err(("to", "截止月份早于起始月份".into()));
            }
            if months_between(&f, &t) > MAX_MONTHS {
                return Err(("to", format!("统计期间最长 {MAX_MONTHS} 个月")));
            }
            return Ok(MonthRange { from: f, to: t });
        }
        if !(2000..=2100).contains(&year) {
            return Err(("year", "年份应为 2000 至 2100 之间的四位数".into()));
        }
        let w = within.trim().to_ascii_lowercase();
        let n = |p: &str| w.strip_prefix(p).and_then(|x| x.parse::<u8>().ok());
        let (a, b) = match (n("q"), n("h"), n("m")) {
            _ if w.is_empty() => (1, 12),
            (Some(q @ 1..=4), _, _) => (q * 3 - 2, q * 3),
            (_, Some(h @ 1..=2), _) => (h * 6 - 5, h * 6),
            (_, _, Some(m @ 1..=12)) => (m, m),
            _ => {
                return Err((
                    "period",
                    "期间应为 q1–q4（季度）、h1–h2（半年）、m1–m12（月）或留空（全年）".into(),
                ))
            }
        };
        Ok(MonthRange {
            from: format!("{year:04}-{a:02}"),
            to: format!("{year:04}-{b:02}"),
        })
    }

    /// Every month of the range, in order.
    pub fn months(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (Some((mut y, mut m)), Some(end)) = (split_month(&self.from), split_month(&self.to))
        else {
            return out;
        };
        while (y, m) <= end && out.len() < MAX_MONTHS as usize + 1 {
            out.push(format!("{y:04}-{m:02}"));
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
        out
    }

    /// As people read it: `2022年`, `2022年第二季度`, `2022年3月`, `2022年1月至2022年6月`.
    pub fn label(&self) -> String {
        let (Some((y1, m1)), Some((y2, m2))) = (split_month(&self.from), split_month(&self.to))
        else {
            return format!("{}至{}", self.from, self.to);
        };
        if y1 == y2 {
            match (m1, m2) {
                (1, 12) => return format!("{y1}年"),
                (a, b) if a == b => return format!("{y1}年{a}月"),
                (a, b) if b == a + 2 && a % 3 == 1 => {
                    const Q: [&str; 4] = ["一", "二", "三", "四"];
                    return format!("{y1}年第{}季度", Q[(a / 3) as usize]);
                }
                (1, 6) => return format!("{y1}年上半年"),
                (7, 12) => return format!("{y1}年下半年"),
                _ => {}
            }
        }
        format!("{y1}年{m1}月至{y2}年{m2}月")
    }
}

fn split_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.split_once('-')?;
    let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m) && s.len() == 7).then_some((y, m))
}

/// `2022-3` or `2022-03` → `2022-03`.
pub fn parse_month(s: &str) -> Option<String> {
    let (y, m) = s.trim().split_once('-')?;
    let norm = format!(
        "{:04}-{:02}",
        y.parse::<i32>().ok()?,
        m.parse::<u32>().ok()?
    );
    split_month(&norm).map(|_| norm)
}

fn months_between(a: &str, b: &str) -> i32 {
    match (split_month(a), split_month(b)) {
        (Some((y1, m1)), Some((y2, m2))) => (y2 - y1) * 12 + m2 as i32 - m1 as i32 + 1,
        _ => 0,
    }
}

/// The `n` units with the lowest on-time completion rate among those with at least
/// `min_due` orders due, lowest first; ties go to the lower satisfaction rate, then the id.
pub fn bottom(units: &[(i64, Counts)], n: usize, min_due: i64) -> Vec<i64> {
    let mut judged: Vec<&(i64, Counts)> = units
        .iter()
        .filter(|(_, c)| c.due >= min_due.max(1))
        .collect();
    judged.sort_by(|(a, x), (b, y)| {
        let key = |c: &Counts| {
            (
                c.on_time_rate().unwrap_or(0.0),
                c.satisfaction_rate().unwrap_or(100.0),
            )
        };
        let (kx, ky) = (key(x), key(y));
        kx.0.total_cmp(&ky.0)
            .then(kx.1.total_cmp(&ky.1))
            .then(a.cmp(b))
    });
    judged.into_iter().take(n).map(|(id, _)| *id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bj() -> UtcOffset {
        UtcOffset::from_hms(8, 0, 0).expect("offset")
    }

    fn t(s: &str) -> i64 {
        parse_instant(s, false, bj()).expect(s)
    }

    #[test]
    fn times_read_in_every_way_exports_write_them() {
        let base = t("2022-03-01 10:22:33");
        assert_eq!(base, 1_646_101_353);
        for s in [
            "2022/3/1 10:22:33",
            "2022-03-01T10:22:33",
            "2022年3月1日 10:22:33",
            "2022年3月1日 10时22分33秒",
            "2022-03-01 10:22:33.000",
        ] {
            assert_eq!(t(s), base, "{s}");
        }
        assert_eq!(t("2022-03-01 10:22"), base - 33);
        assert_eq!(t("2022-03-01"), t("20220301"));
        assert_eq!(t("2022-03-01"), base - (10 * 3600 + 22 * 60 + 33));
        // A deadline written as a day runs to its end.
        assert_eq!(
            parse_instant("2022-03-01", true, bj()).expect("day"),
            t("2022-03-01 23:59:59")
        );
        // Excel serials: 44621 is 2022-03-01; a fraction is the time of day.
        assert_eq!(t("44621"), t("2022-03-01"));
        assert_eq!(t("44621.5"), t("2022-03-01 12:00"));
        assert_eq!(
            parse_instant("44621", true, bj()).expect("serial"),
            t("2022-03-01 23:59:59")
        );
        for bad in [
            "",
            "明天",
            "2022-13-01",
            "2022-02-30",
            "2022-03-01 25:00",
            "2022-03",
            "0",
            "-5",
            "1800-01-01",
            "2022-03-01 10",
        ] {
            assert!(parse_instant(bad, false, bj()).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_are_beijing_months() {
        // 2022-03-31 16:30 UTC is 2022-04-01 00:30 in Beijing.
        assert_eq!(month_of(1_648_744_200, bj()), "2022-04");
        assert_eq!(month_of(t("2022-03-31 23:59:59"), bj()), "2022-03");
    }

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mappings_are_guessed_saved_and_resolved() {
        let h = headers(&[
            "序号",
            "工单号",
            "来电时间",
            "责任单位",
            "办结时限",
            "办结时间",
            "满意度",
            "是否解决",
            "重办次数*",
        ]);
        let m = Mapping::guess(&h);
        assert_eq!(m.get(Field::OrderNo), Some("工单号"));
        assert_eq!(m.get(Field::Unit), Some("责任单位"));
        assert_eq!(m.get(Field::Deadline), Some("办结时限"));
        assert_eq!(m.get(Field::Reopened), Some("重办次数*"));
        assert_eq!(m.get(Field::Title), None);
        let back = Mapping::parse(&m.to_json()).expect("json");
        assert_eq!(back, m);
        let cols = m.resolve(&h).expect("resolve");
        assert_eq!(cols.of(Field::OrderNo), Some(1));
        assert_eq!(cols.of(Field::Reopened), Some(8));
        // A required field missing, a mapped header absent from another file.
        let mut m2 = m.clone();
        m2.set(Field::Deadline, "");
        m2.set(Field::Title, "诉求内容");
        let errs = m2.resolve(&h).expect_err("errors");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("办理时限"), "{errs:?}");
        assert!(errs[1].contains("诉求内容"), "{errs:?}");
        for bad in ["[]", "{\"colour\": \"x\"}", "{\"order_no\": 3}", "nope"] {
            assert!(Mapping::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Mapping::parse("{}").expect("empty"), Mapping::default());
    }

    #[test]
    fn the_header_row_may_sit_under_a_title() {
        let rows = vec![
            headers(&["2022年12345热线工单导出"]),
            vec![],
            headers(&["工单编号", "受理时间"]),
        ];
        assert_eq!(header_row(&rows, &Mapping::default()), Some(2));
        let mut m = Mapping::default();
        m.set(Field::OrderNo, "流水号");
        assert_eq!(header_row(&rows, &m), None);
    }

    fn cols() -> (Columns, Vec<String>) {
        let h = headers(&[
            "工单编号",
            "受理时间",
            "承办单位",
            "办理时限",
            "办结时间",
            "回访结果",
            "是否解决",
            "重办次数",
            "诉求标题",
        ]);
        (Mapping::guess(&h).resolve(&h).expect("cols"), h)
    }

    fn row(v: &[&str]) -> Vec<String> {
        headers(v)
    }

    #[test]
    fn a_good_row_reads_into_an_order() {
        let (c, h) = cols();
        let o = read_row(
            &row(&[
                " GD001 ",
                "2022-03-01 09:00",
                "市测试局",
                "2022-03-03",
                "2022-03-02 17:00",
                "基本满意",
                "已解决",
                "1",
                "路灯不亮",
            ]),
            &c,
            &h,
            bj(),
        )
        .expect("row");
        assert_eq!(o.order_no, "GD001");
        assert_eq!(o.callback, Some(Callback::Basic));
        assert_eq!(o.resolved, Some(true));
        assert_eq!(o.reopened, 1);
        assert_eq!(o.deadline, t("2022-03-03 23:59:59"));
        // Open, no callback yet: fine.
        let o = read_row(
            &row(&["GD002", "2022-03-01", "市测试局", "2022-03-05"]),
            &c,
            &h,
            bj(),
        )
        .expect("open");
        assert_eq!((o.closed_at, o.callback, o.reopened), (None, None, 0));
    }

    #[test]
    fn bad_rows_name_every_problem_by_column() {
        let (c, h) = cols();
        let e = read_row(
            &row(&[
                "",
                "昨天",
                "",
                "2022-03-01",
                "2022-02-01",
                "还行",
                "大概",
                "-1",
            ]),
            &c,
            &h,
            bj(),
        )
        .expect_err("bad");
        let cols: Vec<&str> = e.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(
            cols,
            [
                "工单编号",
                "承办单位",
                "受理时间",
                "回访结果",
                "是否解决",
                "重办次数"
            ],
            "{e:?}"
        );
        // Closed before received; deadline before received; a callback on an open order.
        let e = read_row(
            &row(&[
                "GD3",
                "2022-03-05 10:00",
                "市测试局",
                "2022-03-04",
                "2022-03-05 09:00",
            ]),
            &c,
            &h,
            bj(),
        )
        .expect_err("order");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].message.contains("办理时限早于受理时间"));
        assert!(e[1].message.contains("办结时间早于受理时间"));
        let e = read_row(
            &row(&["GD4", "2022-03-01", "市测试局", "2022-03-04", "", "满意"]),
            &c,
            &h,
            bj(),
        )
        .expect_err("callback");
        assert_eq!(e[0].column, "回访结果");
        let long = "9".repeat(MAX_ORDER_NO + 1);
        let e = read_row(
            &row(&[&long, "2022-03-01", "市测试局", "2022-03-04"]),
            &c,
            &h,
            bj(),
        )
        .expect_err("long");
        assert!(e[0].message.contains("超过"));
    }

    #[test]
    fn resolution_and_reopenings_parse_at_their_edges() {
        assert_eq!(parse_resolved(""), Ok(None));
        assert_eq!(parse_resolved("已解决"), Ok(Some(true)));
        assert_eq!(parse_resolved("部分解决"), Ok(Some(false)));
        assert!(parse_resolved("也许").is_err());
        assert_eq!(parse_reopened(""), Ok(0));
        assert_eq!(parse_reopened("是"), Ok(1));
        assert_eq!(parse_reopened("99"), Ok(99));
        assert!(parse_reopened("100").is_err());
        assert!(parse_reopened("1.5").is_err());
    }

    fn order(
        received: &str,
        deadline: &str,
        closed: Option<&str>,
        cb: Option<Callback>,
    ) -> OrderRow {
        OrderRow {
            order_no: "X".into(),
            unit_text: "U".into(),
            title: String::new(),
            received_at: t(received),
            deadline: parse_instant(deadline, true, bj()).expect("deadline"),
            closed_at: closed.map(t),
            reopened: 0,
            callback: cb,
            resolved: None,
        }
    }

    #[test]
    fn an_order_counts_in_its_three_months() {
        // Received in March, due in April, closed late in May, dissatisfied, unresolved,
        // reopened.
        let mut o = order(
            "2022-03-30 10:00",
            "2022-04-02",
            Some("2022-05-01 08:00"),
            Some(Callback::Dissatisfied),
        );
        o.resolved = Some(false);
        o.reopened = 2;
        let c = contributions(&o, bj());
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].0, "2022-03");
        assert_eq!(c[0].1.received, 1);
        assert_eq!(
            (c[1].0.as_str(), c[1].1.due, c[1].1.on_time),
            ("2022-04", 1, 0)
        );
        let closed = c[2].1;
        assert_eq!(c[2].0, "2022-05");
        assert_eq!(
            (
                closed.closed,
                closed.reached,
                closed.satisfied,
                closed.resolved_known,
                closed.resolved,
                closed.reopened
            ),
            (1, 1, 0, 1, 0, 1)
        );
        // Closed at the deadline's last second is on time; unreached is not reached.
        let o = order(
            "2022-03-01",
            "2022-03-03",
            Some("2022-03-03 23:59:59"),
            Some(Callback::Unreached),
        );
        let c = contributions(&o, bj());
        assert_eq!(c[1].1.on_time, 1);
        assert_eq!((c[2].1.reached, c[2].1.satisfied), (0, 0));
        // Open: due but not on time, nothing closed.
        let o = order("2022-03-01", "2022-03-03", None, None);
        let c = contributions(&o, bj());
        assert_eq!(c.len(), 2);
        assert_eq!((c[1].1.due, c[1].1.on_time), (1, 0));
    }

    #[test]
    fn rates_are_shares_of_what_counts() {
        let c = Counts {
            due: 8,
            on_time: 7,
            closed: 10,
            reached: 6,
            satisfied: 3,
            resolved_known: 4,
            resolved: 1,
            reopened: 2,
            ..Counts::default()
        };
        assert_eq!(c.on_time_rate(), Some(87.5));
        assert_eq!(c.satisfaction_rate(), Some(50.0));
        assert_eq!(c.resolution_rate(), Some(25.0));
        assert_eq!(c.reopened_rate(), Some(20.0));
        assert_eq!((c.late(), c.dissatisfied(), c.unresolved()), (1, 3, 3));
        assert_eq!(Counts::default().on_time_rate(), None);
        assert_eq!(percent_text(None), "—");
        assert_eq!(percent(2, 3), Some(66.7));
        let mut s = c;
        s.add(&c);
        s.sub(&c);
        assert_eq!(s, c);
        s.sub(&c);
        assert!(s.is_zero());
    }

    #[test]
    fn periods_parse_and_read() {
        let p = |w: &str| MonthRange::parse(2022, w, None, None);
        assert_eq!(p("").expect("year"), MonthRange::year(2022));
        assert_eq!(p("q2").expect("q2").from, "2022-04");
        assert_eq!(p("q2").expect("q2").label(), "2022年第二季度");
        assert_eq!(p("h2").expect("h2").label(), "2022年下半年");
        assert_eq!(p("m3").expect("m3").label(), "2022年3月");
        assert_eq!(p("").expect("y").label(), "2022年");
        assert_eq!(p("").expect("y").months().len(), 12);
        for bad in ["q0", "q5", "h3", "m13", "x"] {
            assert_eq!(p(bad).expect_err(bad).0, "period");
        }
        assert_eq!(
            MonthRange::parse(1999, "", None, None).expect_err("y").0,
            "year"
        );
        let r = MonthRange::parse(0, "", Some("2021-11"), Some("2022-2")).expect("range");
        assert_eq!((r.from.as_str(), r.to.as_str()), ("2021-11", "2022-02"));
        assert_eq!(r.months(), ["2021-11", "2021-12", "2022-01", "2022-02"]);
        assert_eq!(r.label(), "2021年11月至2022年2月");
        let one = MonthRange::parse(0, "", Some("2022-05"), None).expect("one");
        assert_eq!(one.label(), "2022年5月");
        assert_eq!(
            MonthRange::parse(0, "", Some("2022-05"), Some("2022-04"))
                .expect_err("back")
                .0,
            "to"
        );
        assert_eq!(
            MonthRange::parse(0, "", Some("2022-13"), None)
                .expect_err("m")
                .0,
            "from"
        );
        assert!(MonthRange::parse(0, "", Some("2000-01"), Some("2010-01")).is_err());
        assert!(MonthRange::parse(0, "", Some("2000-01"), Some("2009-12")).is_ok());
    }

    #[test]
    fn the_bottom_units_are_the_lowest_judged() {
        let c = |due, on_time, reached, satisfied| Counts {
            due,
            on_time,
            reached,
            satisfied,
            ..Counts::default()
        };
        let units = vec![
            (1, c(10, 9, 4, 4)),
            (2, c(10, 5, 4, 4)),
            (3, c(10, 5, 4, 1)),
            (4, c(1, 0, 0, 0)),
            (5, c(0, 0, 0, 0)),
        ];
        assert_eq!(bottom(&units, 2, 5), vec![3, 2]);
        assert_eq!(bottom(&units, 10, 1), vec![4, 3, 2, 1]);
        assert!(bottom(&[], 3, 1).is_empty());
    }
}
