//! `yaoshi demo --scale small|city|province`: a deterministic city (or province) of
//! units, party organizations, members, officers and communities, five years of their
//! branches' organizational-life meetings (三会一课), plus one sample account per role,
//! for demos and benchmarks (DESIGN.md, "Scale the design must hold").
//!
//! Everything is drawn from one seeded generator in a fixed order (the meetings from a
//! second one, so they leave the rest as it was), so the same scale gives the same data.
//! Only dates measured from today (terms of office, recently admitted probationary
//! members, the meetings' five years) move with the clock, so that "expired" and "due
//! soon" stay true whenever the demo is generated.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments};
use time::macros::date;
use time::{Date, Duration};

use crate::audit::{Actor, Entry};
use crate::auth::store::{self, NewGrant, NewUser};
use crate::auth::Role;
use crate::clock::now;
use crate::crypto::KeyRing;
use crate::db::{Backend, Sql};
use crate::state::AppState;
use crate::text::{format_date, name_initials};

const SEED: u64 = 20261126;
const DEFAULT_PASSWORD: &str = "Demo@2026pass";
/// Columns of the multi-row INSERTs below.
const MEMBER_COLUMNS: usize = 22;
const OFFICER_COLUMNS: usize = 4;
const COMMUNITY_COLUMNS: usize = 5;
const MEETING_COLUMNS: usize = 22;
const ATTENDANCE_COLUMNS: usize = 4;
const REVIEW_COLUMNS: usize = 5;
/// A branch this small (or smaller) is one of the few with fewer than 3 full members.
const WEAK_MAX: u32 = 4;
/// The date the units were classed into their categories.
const CLASSIFIED_ON: Date = date!(2023 - 03 - 01);

// Chinese text this command prints or stores (kept together, as messages.rs does).
const MSG_NOT_EMPTY: &str = "数据库中已有机关党组织，演示数据只能生成到空库";
const HISTORY_REASON: &str = "演示数据：初始分类";
const POST_SECRETARY: &str = "书记";
const POST_DEPUTY: &str = "副书记";
const POST_ORGANIZING: &str = "组织委员";
const POST_PROPAGANDA: &str = "宣传委员";

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Scale {
    Small,
    City,
    Province,
}

/// What was generated. `orgs` counts every org row (党委, 党总支, 党支部, 党小组);
/// `branches` only the 党支部 among them.
#[derive(Clone, Debug)]
pub struct DemoSummary {
    pub units: i64,
    pub orgs: i64,
    pub branches: i64,
    pub members: i64,
    /// Organizational-life meeting records (三会一课 and the rest).
    pub meetings: i64,
    /// (role label, username, password)
    pub accounts: Vec<(String, String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sizes {
    /// 1 for a city; a province is several cities whose unit names carry the city's name.
    cities: usize,
    units: usize,
    branches: usize,
    members: usize,
    communities: usize,
}

impl Scale {
    fn sizes(self) -> Sizes {
        match self {
            Scale::Small => Sizes {
                cities: 1,
                units: 12,
                branches: 150,
                members: 3_000,
                communities: 20,
            },
            Scale::City => Sizes {
                cities: 1,
                units: 120,
                branches: 1_500,
                members: 30_000,
                communities: 60,
            },
            Scale::Province => Sizes {
                cities: 10,
                units: 1_200,
                branches: 15_000,
                members: 300_000,
                communities: 300,
            },
        }
    }

    fn label(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::City => "city",
            Scale::Province => "province",
        }
    }
}

// ---------------------------------------------------------------------------
// Reference lists
// ---------------------------------------------------------------------------

/// Real-sounding municipal bodies per category (codes as in `bootstrap::CATEGORIES`),
/// the glossary's sample units first. Every name contains 市, which a province
/// replaces with its city's name.
const UNIT_NAMES: [(&str, &[&str]); 6] = [
    (
        "general_affairs",
        &[
            "市纪委监委",
            "市委办公室",
            "市人大常委会办公厅",
            "市政府办公室",
            "市政协办公厅",
            "市委组织部",
            "市委宣传部",
            "市委统战部",
            "市委政法委",
            "市委政策研究室",
            "市委编办",
            "市委网信办",
            "市委巡察办",
            "市委外办",
            "市委台办",
            "市委老干部局",
            "市机关事务管理局",
            "市政府研究室",
            "市委保密办",
            "市委机要局",
            "市信访局",
            "市委军民融合办",
        ],
    ),
    (
        "economic",
        &[
            "市发展改革委",
            "市科学技术局",
            "市工业和信息化局",
            "市财政局",
            "市商务局",
            "市自然资源和规划局",
            "市住房和城乡建设局",
            "市交通运输局",
            "市农业农村局",
            "市水务局",
            "市文化广电和旅游局",
            "市国资委",
            "市统计局",
            "市地方金融管理局",
            "市投资促进局",
            "市数据局",
            "市粮食和物资储备局",
            "市供销合作总社",
            "市口岸办",
            "市经济技术开发区管委会",
            "市林业局",
            "市乡村振兴局",
        ],
    ),
    (
        "law_enforcement",
        &[
            "市中级人民法院",
            "市人民检察院",
            "市公安局",
            "市司法局",
            "市审计局",
            "市市场监督管理局",
            "市生态环境局",
            "市应急管理局",
            "市城市管理局",
            "市税务局",
            "市医疗保障局",
            "市综合行政执法局",
            "市消防救援支队",
            "市交通运输综合行政执法支队",
            "市烟草专卖局",
            "市仲裁委员会",
            "市药品监督管理局",
            "市人民防空办公室",
            "市知识产权局",
            "市公证处",
            "市海事局",
            "市劳动人事争议仲裁院",
        ],
    ),
    (
        "public_affairs",
        &[
            "市教育局",
            "市民族宗教局",
            "市民政局",
            "市人力资源和社会保障局",
            "市卫生健康委",
            "市退役军人事务局",
            "市体育局",
            "市政务服务管理局",
            "市住房公积金管理中心",
            "市气象局",
            "市地震局",
            "市公共资源交易中心",
            "市疾病预防控制中心",
            "市第一人民医院",
            "市中医院",
            "市妇幼保健院",
            "市第一中学",
            "市图书馆",
            "市博物馆",
            "市广播电视台",
            "市社会保险事业管理中心",
            "市12345政务服务便民热线中心",
        ],
    ),
    (
        "mass_org",
        &[
            "市委党史研究室",
            "市档案馆",
            "市总工会",
            "团市委",
            "市妇联",
            "市科协",
            "市文联",
            "市社科联",
            "市侨联",
            "市红十字会",
            "市残联",
            "市工商联",
            "市地方志办公室",
            "市委党校",
            "市社会科学院",
            "市日报社",
            "市职业技术学院",
            "市慈善总会",
            "市贸促会",
            "市作家协会",
            "市计划生育协会",
            "市老龄工作委员会办公室",
        ],
    ),
    (
        "soe",
        &[
            "市邮政公司",
            "工商银行市分行",
            "农业银行市分行",
            "中国银行市分行",
            "建设银行市分行",
            "交通银行市分行",
            "市农村商业银行",
            "市城市建设投资集团",
            "市交通投资集团",
            "市国有资产投资经营集团",
            "市水务集团",
            "市公共交通集团",
            "市地铁集团",
            "市燃气集团",
            "市文化旅游集团",
            "市港口集团",
            "国网市供电公司",
            "中国移动市分公司",
            "中国电信市分公司",
            "中国联通市分公司",
            "中国人寿市分公司",
            "市烟草公司",
        ],
    ),
];

/// Fields for plausible extra units once a category's list runs out.
const EXTRA_FIELDS: [&str; 20] = [
    "城市更新",
    "数字经济",
    "园林绿化",
    "现代物流",
    "新能源",
    "营商环境",
    "人才发展",
    "对外合作",
    "住房保障",
    "市容环卫",
    "水利工程",
    "文物保护",
    "社会救助",
    "老龄事业",
    "质量发展",
    "海洋渔业",
    "航空产业",
    "生物医药",
    "大数据",
    "职业教育",
];

/// The cities of a province (fictional, so no real body is impersonated).
const CITY_NAMES: [&str; 10] = [
    "临江", "青山", "云溪", "东湖", "南屏", "北塘", "西岭", "石城", "梅岭", "金川",
];

const DEPTS_GOV: &[&str] = &[
    "办公室",
    "综合处",
    "政策法规处",
    "组织人事处",
    "财务处",
    "规划发展处",
    "行政审批处",
    "督查室",
    "研究室",
    "宣传教育处",
    "信息化处",
    "对外联络处",
    "项目管理处",
    "统计分析处",
    "监督检查处",
    "社会事务处",
    "机关服务中心",
    "信息中心",
    "科技处",
    "安全生产处",
    "计划财务处",
    "人事教育处",
    "调研处",
    "审计处",
];
const DEPTS_LAW: &[&str] = &[
    "办公室",
    "政治部",
    "法制处",
    "执法监督处",
    "案件审理处",
    "稽查处",
    "信访处",
    "督察处",
    "立案庭",
    "刑事审判庭",
    "民事审判庭",
    "行政审判庭",
    "执行局",
    "侦查监督处",
    "公诉处",
    "控告申诉处",
    "案件管理中心",
    "警务保障处",
    "指挥中心",
    "技术处",
];
const DEPTS_MASS: &[&str] = &[
    "办公室",
    "组织部",
    "宣传部",
    "联络部",
    "权益保障部",
    "研究室",
    "编辑部",
    "业务部",
    "培训部",
    "财务部",
    "信息中心",
    "资料室",
    "教务处",
    "科研处",
    "学生工作处",
];
const DEPTS_SOE: &[&str] = &[
    "综合办公室",
    "党群工作部",
    "人力资源部",
    "财务部",
    "市场营销部",
    "风险管理部",
    "运营管理部",
    "工程管理部",
    "审计部",
    "投资发展部",
    "安全生产部",
    "信息技术部",
    "客户服务中心",
    "第一分公司",
    "第二分公司",
    "第三分公司",
    "业务一部",
    "业务二部",
    "项目部",
    "营业部",
];

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const GIVEN_MALE: &str = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波浩凯健俊帆旭宇晨阳龙峰建国东文海亮林志成康博彬祥瑞兵坤松振翔毅宏昊轩然哲泽天晖锋庆春荣德胜忠光新卫清武力永山江伦雷亚晓立";
const GIVEN_FEMALE: &str = "芳娜敏静丽艳娟霞燕玲萍红琳婷雪慧颖倩洁佳琴云莉丹蕾璐薇欣悦怡晶妍菲瑶婧茜岚梅兰凤英秀珍月莹露彤雯婕琪萌蓉珊青虹翠爽馨楠妮娇梦媛思雨涵宁嘉晓蕊洋";

const ETHNICITIES: [(&str, u32); 5] = [
    ("汉族", 940),
    ("回族", 20),
    ("满族", 15),
    ("蒙古族", 10),
    ("壮族", 15),
];

/// Districts of the city (Nanjing's codes); most members were born here.
const LOCAL_REGIONS: [&str; 11] = [
    "320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115", "320116",
    "320117", "320118",
];
const OTHER_REGIONS: [&str; 12] = [
    "320211", "320311", "321002", "340104", "370102", "410105", "420106", "330106", "360102",
    "130104", "510107", "610113",
];

const PHONE_PREFIXES: [&str; 30] = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "170", "177", "180", "181", "182", "183", "186",
    "187", "188", "189", "199",
];

const EDUCATION_GOV: [(&str, u32); 5] = [
    ("研究生", 28),
    ("大学本科", 60),
    ("大学专科", 8),
    ("中专", 2),
    ("高中", 2),
];
const EDUCATION_SOE: [(&str, u32); 5] = [
    ("研究生", 12),
    ("大学本科", 60),
    ("大学专科", 18),
    ("中专", 5),
    ("高中", 5),
];

/// Non-leading positions by birth-year band (youngest first).
const POSITIONS_GOV: [&[&str]; 4] = [
    &["科员", "一级科员"],
    &["副主任科员", "主任科员", "四级主任科员"],
    &["主任科员", "一级主任科员", "四级调研员"],
    &["四级调研员", "三级调研员", "二级调研员"],
];
const POSITIONS_SOE: [&[&str]; 4] = [
    &["职员", "业务员"],
    &["业务主管", "客户经理"],
    &["高级主管", "业务主管"],
    &["高级主管", "资深专家"],
];

const DISTRICTS: [(&str, &[&str]); 8] = [
    (
        "玄武区",
        &[
            "梅园新村街道",
            "新街口街道",
            "玄武门街道",
            "锁金村街道",
            "红山街道",
            "孝陵卫街道",
            "玄武湖街道",
        ],
    ),
    (
        "秦淮区",
        &[
            "夫子庙街道",
            "朝天宫街道",
            "瑞金路街道",
            "月牙湖街道",
            "光华路街道",
            "中华门街道",
            "双塘街道",
            "红花街道",
        ],
    ),
    (
        "鼓楼区",
        &[
            "华侨路街道",
            "宁海路街道",
            "湖南路街道",
            "中央门街道",
            "挹江门街道",
            "江东街道",
            "凤凰街道",
            "热河南路街道",
        ],
    ),
    (
        "建邺区",
        &[
            "南苑街道",
            "兴隆街道",
            "沙洲街道",
            "双闸街道",
            "江心洲街道",
            "莫愁湖街道",
        ],
    ),
    (
        "栖霞区",
        &[
            "尧化街道",
            "马群街道",
            "迈皋桥街道",
            "燕子矶街道",
            "仙林街道",
            "栖霞街道",
        ],
    ),
    (
        "雨花台区",
        &[
            "雨花街道",
            "赛虹桥街道",
            "西善桥街道",
            "板桥街道",
            "铁心桥街道",
            "梅山街道",
        ],
    ),
    (
        "江宁区",
        &[
            "东山街道",
            "秣陵街道",
            "汤山街道",
            "淳化街道",
            "禄口街道",
            "江宁街道",
        ],
    ),
    (
        "浦口区",
        &["江浦街道", "泰山街道", "顶山街道", "沿江街道", "盘城街道"],
    ),
];
const COMMUNITY_WORDS: [&str; 40] = [
    "长江路",
    "碑亭巷",
    "梅园",
    "大行宫",
    "丹凤街",
    "成贤街",
    "兰园",
    "香铺营",
    "北京东路",
    "珍珠河",
    "翠竹园",
    "金桂苑",
    "银杏里",
    "香樟园",
    "枫林湾",
    "春晖",
    "和平",
    "友谊",
    "光明",
    "幸福",
    "锦绣",
    "文昌",
    "清凉",
    "龙江",
    "桃园",
    "柳营",
    "月光",
    "朝阳",
    "新华",
    "东苑",
    "西苑",
    "南湖",
    "北湖",
    "花港",
    "龙蟠",
    "紫金",
    "百合",
    "湖滨",
    "景明",
    "民安",
];

// ---------------------------------------------------------------------------
// Small pure helpers
// ---------------------------------------------------------------------------

/// An element of a non-empty constant list.
fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A value from a non-empty list of (value, weight).
fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut r = rng.gen_range(0..total.max(1));
    for (v, w) in items {
        if r < *w {
            return *v;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

fn add_days(d: Date, days: i64) -> Date {
    d.checked_add(Duration::days(days)).unwrap_or(d)
}

/// Same month and day `years` later (or earlier); 29 February becomes the 28th.
fn add_years(d: Date, years: i32) -> Date {
    let year = d.year() + years;
    let day = d.day().min(d.month().length(year));
    Date::from_calendar_date(year, d.month(), day).unwrap_or(d)
}

/// A uniformly random day in `from..=to` (`from` when the range is empty).
fn random_date(rng: &mut StdRng, from: Date, to: Date) -> Date {
    let (a, b) = (from.to_julian_day(), to.to_julian_day());
    if b <= a {
        return from;
    }
    Date::from_julian_day(rng.gen_range(a..=b)).unwrap_or(from)
}

/// 一 … 九十九, as in 第十二党支部; larger numbers stay in digits.
fn zh_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let unit = |k: usize| if k == 0 { "" } else { DIGITS[k] };
    match n {
        0..=9 => DIGITS[n].to_string(),
        10..=19 => format!("十{}", unit(n % 10)),
        20..=99 => format!("{}十{}", DIGITS[n / 10], unit(n % 10)),
        _ => n.to_string(),
    }
}

fn nth_char(s: &str, i: usize) -> char {
    s.chars().nth(i).unwrap_or('明')
}

/// Surname (common ones more often) and one or two given characters fitting the gender.
fn person_name(rng: &mut StdRng, male: bool) -> String {
    let n = SURNAMES.chars().count();
    let u: f64 = rng.gen();
    let surname = nth_char(SURNAMES, ((u.powf(1.8) * n as f64) as usize).min(n - 1));
    let given = if male { GIVEN_MALE } else { GIVEN_FEMALE };
    let g = given.chars().count();
    let mut name = String::new();
    name.push(surname);
    name.push(nth_char(given, rng.gen_range(0..g)));
    if rng.gen_bool(0.7) {
        name.push(nth_char(given, rng.gen_range(0..g)));
    }
    name
}

/// ISO 7064 MOD 11-2 check character over the first 17 digits (GB 11643-1999).
fn id_check_char(first17: &[u8]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    char::from(CHECK[(sum % 11) as usize])
}

/// Region (6 digits) + birth date + 3-digit sequence + check character.
/// The sequence's last digit is odd for men and even for women.
fn id_number(region: &str, birth: Date, seq: u16) -> String {
    let mut s = format!(
        "{region}{:04}{:02}{:02}{:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        seq % 1000
    );
    let c = id_check_char(s.as_bytes());
    s.push(c);
    s
}

/// An ID number not yet in `used` (and now recorded there), or `None` if every
/// sequence for that region, day and gender is taken.
fn unique_id_number(
    rng: &mut StdRng,
    region: &str,
    birth: Date,
    male: bool,
    used: &mut HashSet<String>,
) -> Option<String> {
    let parity = u16::from(male);
    for _ in 0..64 {
        let id = id_number(region, birth, rng.gen_range(0..500u16) * 2 + parity);
        if used.insert(id.clone()) {
            return Some(id);
        }
    }
    (0..500u16)
        .map(|k| id_number(region, birth, k * 2 + parity))
        .find(|id| used.insert(id.clone()))
}

/// Members from minorities were often born in their home regions.
fn region_code(rng: &mut StdRng, ethnicity: &str) -> &'static str {
    let home = match ethnicity {
        "回族" => Some("640104"),
        "满族" => Some("210102"),
        "蒙古族" => Some("150102"),
        "壮族" => Some("450103"),
        _ => None,
    };
    if let Some(h) = home {
        if rng.gen_bool(0.5) {
            return h;
        }
    }
    if rng.gen_bool(0.8) {
        LOCAL_REGIONS[rng.gen_range(0..LOCAL_REGIONS.len())]
    } else {
        OTHER_REGIONS[rng.gen_range(0..OTHER_REGIONS.len())]
    }
}

fn phone(rng: &mut StdRng) -> String {
    let prefix = pick(rng, &PHONE_PREFIXES);
    format!("{prefix}{:08}", rng.gen_range(0..100_000_000u32))
}

/// Position and whether it is a division head (处长/副处长, or a company's 部门经理).
fn position(rng: &mut StdRng, soe: bool, birth_year: i32) -> (&'static str, bool) {
    if birth_year <= 1992 && rng.gen_bool(0.155) {
        let head = match (soe, rng.gen_bool(0.4)) {
            (false, true) => "处长",
            (false, false) => "副处长",
            (true, true) => "部门经理",
            (true, false) => "部门副经理",
        };
        return (head, true);
    }
    if birth_year <= 1975 && rng.gen_bool(0.04) {
        return (if soe { "副总经理" } else { "副局长" }, false);
    }
    let band = match birth_year {
        ..=1972 => 3,
        1973..=1982 => 2,
        1983..=1992 => 1,
        _ => 0,
    };
    let list = if soe {
        POSITIONS_SOE[band]
    } else {
        POSITIONS_GOV[band]
    };
    (*pick(rng, list), false)
}

/// Term of office ending around today: ~3% none recorded, ~8% expired, ~5% ending
/// within six months, the rest later. The start is `years` before the end.
fn plan_term(rng: &mut StdRng, today: Date, years: i32) -> Option<(Date, Date)> {
    let r: f64 = rng.gen();
    let end = if r < 0.03 {
        return None;
    } else if r < 0.11 {
        add_days(today, -rng.gen_range(1..=400))
    } else if r < 0.16 {
        add_days(today, rng.gen_range(0..=180))
    } else {
        add_days(today, rng.gen_range(200..=i64::from(years) * 365 - 30))
    };
    Some((add_years(end, -years), end))
}

/// Members per branch, summing to exactly `members` (when feasible): about 3% of
/// branches have 3–4 members (too few full ones, see `member_mix`), about 3% exceed
/// the 50 a branch should keep to, the rest lie in 5..=50, most of them small.
fn branch_sizes(rng: &mut StdRng, branches: usize, members: usize) -> Vec<u32> {
    let weak = branches.saturating_mul(3).div_ceil(100).min(branches);
    let big = branches
        .saturating_mul(3)
        .div_ceil(100)
        .min(branches - weak);
    let mut sizes = Vec::with_capacity(branches);
    for _ in 0..weak {
        sizes.push(rng.gen_range(3..=WEAK_MAX));
    }
    for _ in 0..big {
        sizes.push(rng.gen_range(51..=60));
    }
    let normal_from = sizes.len();
    while sizes.len() < branches {
        let u: f64 = rng.gen();
        sizes.push(5 + (45.0 * u.powf(1.8)).round() as u32);
    }
    // Nudge normal branches one member at a time until the total is exact.
    let mut diff = members as i64 - sizes.iter().map(|&s| i64::from(s)).sum::<i64>();
    let mut tries = 0usize;
    while diff != 0 && normal_from < sizes.len() && tries < members.saturating_mul(20) + 1000 {
        tries += 1;
        let i = rng.gen_range(normal_from..sizes.len());
        if diff > 0 && sizes[i] < 50 {
            sizes[i] += 1;
            diff -= 1;
        } else if diff < 0 && sizes[i] > 5 {
            sizes[i] -= 1;
            diff += 1;
        }
    }
    sizes.shuffle(rng);
    sizes
}

/// (active full, probationary, transferred-out) members of a branch of `size`.
/// The smallest branches keep exactly 2 full members; others keep at least 3.
fn member_mix(rng: &mut StdRng, size: u32) -> (u32, u32, u32) {
    if size <= WEAK_MAX {
        let full = size.min(2);
        return (full, size - full, 0);
    }
    let gone = if size >= 8 {
        ((0..size).filter(|_| rng.gen_bool(0.01)).count() as u32).min(size - 5)
    } else {
        0
    };
    let staying = size - gone;
    let prob = ((0..staying).filter(|_| rng.gen_bool(0.08)).count() as u32).min(staying - 3);
    (staying - prob, prob, gone)
}

/// Branches per unit summing to `branches`, each unit at least one: a tenth of the
/// units are tiny (usually a single branch), the rest vary about eightfold.
fn branches_per_unit(rng: &mut StdRng, units: usize, branches: usize) -> Vec<usize> {
    if units == 0 {
        return Vec::new();
    }
    let weights: Vec<f64> = (0..units)
        .map(|_| {
            if rng.gen_bool(0.1) {
                0.02
            } else {
                let u: f64 = rng.gen();
                0.4 + 2.6 * u * u
            }
        })
        .collect();
    let spare = branches.saturating_sub(units) as f64;
    let total: f64 = weights.iter().sum();
    let shares: Vec<f64> = weights.iter().map(|w| w / total * spare).collect();
    let mut counts: Vec<usize> = shares.iter().map(|s| 1 + s.floor() as usize).collect();
    let left = branches.saturating_sub(counts.iter().sum());
    // Largest remainders first; ties by position, so the result is deterministic.
    let mut order: Vec<usize> = (0..units).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (shares[a] - shares[a].floor(), shares[b] - shares[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(left) {
        counts[i] += 1;
    }
    counts
}

fn depts_for(category: &str) -> &'static [&'static str] {
    match category {
        "law_enforcement" => DEPTS_LAW,
        "mass_org" => DEPTS_MASS,
        "soe" => DEPTS_SOE,
        _ => DEPTS_GOV,
    }
}

/// `n` distinct branch names: departments first (办公室党支部 …), then ordinals
/// (第一党支部 …), in larger units a retirees' branch last.
fn branch_names(rng: &mut StdRng, category: &str, n: usize) -> Vec<String> {
    let mut depts: Vec<&str> = depts_for(category).to_vec();
    depts.shuffle(rng);
    let retirees = n >= 5 && rng.gen_bool(0.7);
    let dept_n = ((n as f64 * 0.7).ceil() as usize).min(depts.len()).min(n);
    let mut names: Vec<String> = depts[..dept_n]
        .iter()
        .map(|d| format!("{d}党支部"))
        .collect();
    let ordinals = n.saturating_sub(dept_n + usize::from(retirees));
    names.extend((1..=ordinals).map(|k| format!("第{}党支部", zh_number(k))));
    if retirees {
        names.push("离退休干部党支部".to_string());
    }
    names
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct UnitSpec {
    name: String,
    short_name: String,
    category: &'static str,
    branches: usize,
}

/// A plausible extra name for a category whose list ran out.
fn extra_unit_name(category: &str, k: usize) -> String {
    let suffixes: &[&str] = match category {
        "general_affairs" => &["工作办公室", "工作领导小组办公室"],
        "economic" => &["发展局", "促进中心"],
        "law_enforcement" => &["监督管理局", "综合执法支队"],
        "public_affairs" => &["服务中心", "管理中心"],
        "mass_org" => &["研究会", "促进会"],
        _ => &["集团有限公司", "发展有限公司"],
    };
    let field = EXTRA_FIELDS[k % EXTRA_FIELDS.len()];
    let suffix = suffixes[(k / EXTRA_FIELDS.len()) % suffixes.len()];
    let round = k / (EXTRA_FIELDS.len() * suffixes.len());
    if round == 0 {
        format!("市{field}{suffix}")
    } else {
        format!("市{field}{suffix}{}", round + 1)
    }
}

/// Names of one city's units with their categories, category by category, spread
/// evenly over the six (the first categories take any remainder).
fn city_unit_names(per_city: usize) -> Vec<(String, &'static str)> {
    let mut out = Vec::with_capacity(per_city);
    let mut seen = HashSet::new();
    let kinds = UNIT_NAMES.len();
    for (c, (code, list)) in UNIT_NAMES.iter().enumerate() {
        let want = per_city / kinds + usize::from(c < per_city % kinds);
        let mut taken = 0;
        let mut k = 0;
        while taken < want {
            let name = match list.get(k) {
                Some(n) => (*n).to_string(),
                None => extra_unit_name(code, k - list.len()),
            };
            k += 1;
            if seen.insert(name.clone()) {
                out.push((name, *code));
                taken += 1;
            }
        }
    }
    out
}

/// All units: one city's names as they are, or each city's with its name put before 市
/// (市教育局 → 临江市教育局, 团市委 → 团临江市委).
fn unit_specs(sizes: Sizes, branch_counts: &[usize]) -> Vec<UnitSpec> {
    let cities = sizes.cities.max(1);
    let mut specs = Vec::with_capacity(sizes.units);
    for c in 0..cities {
        let per_city = sizes.units / cities + usize::from(c < sizes.units % cities);
        let city = (cities > 1).then(|| CITY_NAMES[c % CITY_NAMES.len()]);
        // More cities than names would repeat a name; number them then.
        let city = city.map(|n| {
            if c < CITY_NAMES.len() {
                n.to_string()
            } else {
                format!("{n}{}", c / CITY_NAMES.len() + 1)
            }
        });
        for (base, category) in city_unit_names(per_city) {
            let name = match &city {
                None => base.clone(),
                Some(city) => base.replacen('市', &format!("{city}市"), 1),
            };
            // 市教育局 → 教育局, but 市委办公室 stays whole (委办公室 would mean nothing).
            let short_name = match (base.strip_prefix('市'), &city) {
                (Some(rest), None) if !rest.starts_with('委') => rest.to_string(),
                (Some(rest), Some(city)) if !rest.starts_with('委') => format!("{city}{rest}"),
                _ => name.clone(),
            };
            let branches = branch_counts.get(specs.len()).copied().unwrap_or(1);
            specs.push(UnitSpec {
                name,
                short_name,
                category,
                branches,
            });
        }
    }
    specs
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct CommunityPlan {
    name: String,
    address: String,
    contact: String,
}

/// `n` distinct communities such as 玄武区梅园新村街道长江路社区.
fn communities(rng: &mut StdRng, n: usize) -> Vec<CommunityPlan> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let mut attempt = 0usize;
    while out.len() < n {
        attempt += 1;
        let (district, streets) = pick(rng, &DISTRICTS);
        let street = pick(rng, streets);
        let word = pick(rng, &COMMUNITY_WORDS);
        let mut name = format!("{district}{street}{word}社区");
        if attempt > n * 50 {
            // Every combination tried often enough: number the rest.
            name = format!(
                "{district}{street}{word}第{}社区",
                zh_number(out.len() % 99 + 1)
            );
        }
        if !seen.insert(name.clone()) {
            continue;
        }
        let road = if ["路", "街", "巷", "里"].iter().any(|s| word.ends_with(s)) {
            ""
        } else {
            "路"
        };
        let address = format!("{district}{word}{road}{}号", rng.gen_range(1..=300));
        let male = rng.gen_bool(0.4);
        let contact = format!("{} {}", person_name(rng, male), phone(rng));
        out.push(CommunityPlan {
            name,
            address,
            contact,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Planning one unit (pure: no I/O)
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct OrgPlan {
    kind: &'static str,
    name: String,
    /// Index of the parent in the unit's `orgs`; parents come before children.
    parent: Option<usize>,
    founded: Option<Date>,
    term: Option<(Date, Date)>,
    sort_order: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MemberPlan {
    /// Indexes into the unit's `orgs`.
    branch: usize,
    group: Option<usize>,
    name: String,
    initials: String,
    gender: &'static str,
    ethnicity: &'static str,
    birth: Date,
    id_number: String,
    phone: String,
    education: &'static str,
    joined: Date,
    kind: &'static str,
    converted: Option<Date>,
    position: &'static str,
    division_head: bool,
    status: &'static str,
}

impl MemberPlan {
    fn active_full(&self) -> bool {
        self.kind == "full" && self.status == "active"
    }

    fn leader(&self) -> bool {
        matches!(self.position, "副局长" | "副总经理")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct UnitPlan {
    orgs: Vec<OrgPlan>,
    members: Vec<MemberPlan>,
    /// (org index, member index, post)
    officers: Vec<(usize, usize, &'static str)>,
    /// A branch good for showing the branch role (has groups and a committee if any
    /// does) and one of its ordinary members, for the sample accounts.
    demo_branch: usize,
    demo_member: usize,
}

/// One member of a branch; `kind`/`status` were decided by `member_mix`.
fn plan_member(
    rng: &mut StdRng,
    today: Date,
    soe: bool,
    branch: usize,
    kind: &'static str,
    status: &'static str,
    used_ids: &mut HashSet<String>,
) -> anyhow::Result<MemberPlan> {
    let male = rng.gen_bool(0.56);
    let name = person_name(rng, male);
    let ethnicity = weighted(rng, &ETHNICITIES);
    let birth = random_date(rng, date!(1962 - 01 - 01), date!(2000 - 12 - 31));
    let region = region_code(rng, ethnicity);
    let id_number = unique_id_number(rng, region, birth, male, used_ids)
        .with_context(|| format!("无法为 {} 生成不重复的身份证号", format_date(birth)))?;
    let phone = if rng.gen_bool(0.02) {
        String::new()
    } else {
        phone(rng)
    };
    let education = weighted(rng, if soe { &EDUCATION_SOE } else { &EDUCATION_GOV });
    let adult = add_years(birth, 18);
    let (joined, converted) = if kind == "probationary" {
        let joined = add_days(today, -rng.gen_range(20..=350)).max(adult);
        (joined, None)
    } else {
        // Most joined young; a full member was admitted at least 400 days ago.
        let latest = add_days(today, -400).min(add_years(birth, 50)).max(adult);
        let span = latest.to_julian_day() - adult.to_julian_day();
        let u: f64 = rng.gen();
        let joined = add_days(adult, (f64::from(span) * u.powf(1.7)) as i64);
        // A few old records lack the conversion date.
        let converted = rng.gen_bool(0.94).then(|| add_years(joined, 1));
        (joined, converted)
    };
    let (position, division_head) = position(rng, soe, birth.year());
    Ok(MemberPlan {
        branch,
        group: None,
        initials: name_initials(&name),
        name,
        gender: if male { "男" } else { "女" },
        ethnicity,
        birth,
        id_number,
        phone,
        education,
        joined,
        kind,
        converted,
        position,
        division_head,
        status,
    })
}

/// Posts filled from the active full members among `candidates`, most senior first
/// (for a branch a division head, for a unit's committee its leaders).
fn pick_officers(
    members: &[MemberPlan],
    candidates: &[usize],
    posts: &[&'static str],
    leaders_first: bool,
) -> Vec<(usize, &'static str)> {
    let mut c: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| members.get(i).is_some_and(MemberPlan::active_full))
        .collect();
    c.sort_by_key(|&i| {
        let m = &members[i];
        Reverse(if leaders_first {
            u8::from(m.leader()) * 2 + u8::from(m.division_head)
        } else {
            u8::from(m.division_head) * 2 + u8::from(m.leader())
        })
    });
    c.into_iter().zip(posts.iter().copied()).collect()
}

/// Branch committee posts: 书记, 组织委员, 宣传委员 with 7 or more full members, else a 书记.
fn branch_posts(full_members: usize) -> &'static [&'static str] {
    if full_members >= 7 {
        &[POST_SECRETARY, POST_ORGANIZING, POST_PROPAGANDA]
    } else {
        &[POST_SECRETARY]
    }
}

struct Planner {
    rng: StdRng,
    today: Date,
    used_ids: HashSet<String>,
    units: Vec<UnitSpec>,
    /// Branch sizes for all units in order; unit `i` takes the next `units[i].branches`.
    sizes: Vec<u32>,
    next_size: usize,
    communities: Vec<CommunityPlan>,
}

impl Planner {
    fn new(scale: Scale, today: Date) -> Planner {
        let s = scale.sizes();
        let mut rng = StdRng::seed_from_u64(SEED);
        let counts = branches_per_unit(&mut rng, s.units, s.branches);
        let units = unit_specs(s, &counts);
        let sizes = branch_sizes(&mut rng, s.branches, s.members);
        let communities = communities(&mut rng, s.communities);
        Planner {
            rng,
            today,
            used_ids: HashSet::with_capacity(s.members),
            units,
            sizes,
            next_size: 0,
            communities,
        }
    }

    /// Plans the next unit; call once per unit, in order.
    fn plan_unit(&mut self, spec: &UnitSpec) -> anyhow::Result<UnitPlan> {
        let from = self.next_size.min(self.sizes.len());
        let to = (from + spec.branches).min(self.sizes.len());
        self.next_size = to;
        let mut sizes = self.sizes[from..to].to_vec();
        if sizes.is_empty() {
            sizes.push(5);
        }
        plan_unit(
            &mut self.rng,
            self.today,
            spec.category,
            &sizes,
            &mut self.used_ids,
        )
    }
}

/// The org tree, members and officers of one unit with the given branch sizes.
fn plan_unit(
    rng: &mut StdRng,
    today: Date,
    category: &str,
    sizes: &[u32],
    used_ids: &mut HashSet<String>,
) -> anyhow::Result<UnitPlan> {
    let soe = category == "soe";
    let n = sizes.len();
    let total: u32 = sizes.iter().sum();
    let mut orgs: Vec<OrgPlan> = Vec::new();
    let mut members: Vec<MemberPlan> = Vec::with_capacity(total as usize);
    let mut officers = Vec::new();

    let root_founded = random_date(rng, date!(1978 - 01 - 01), date!(2012 - 12 - 31));
    let (root_kind, root_name, root_years) = match (n, total >= 100, soe) {
        (1, _, false) => ("branch", "机关党支部", 3),
        (1, _, true) => ("branch", "党支部", 3),
        (_, true, false) => ("committee_org", "机关党委", 5),
        (_, true, true) => ("committee_org", "党委", 5),
        (_, false, false) => ("general_branch", "机关党总支", 3),
        (_, false, true) => ("general_branch", "党总支", 3),
    };
    orgs.push(OrgPlan {
        kind: root_kind,
        name: root_name.to_string(),
        parent: None,
        founded: Some(root_founded),
        term: plan_term(rng, today, root_years),
        sort_order: 1,
    });

    // Large committees put their subordinate institutions' branches under a 党总支.
    let sub = if root_kind == "committee_org" && n >= 15 {
        rng.gen_range(3..=5)
    } else {
        0
    };
    let mid = (sub > 0).then(|| {
        orgs.push(OrgPlan {
            kind: "general_branch",
            name: "直属单位党总支".to_string(),
            parent: Some(0),
            founded: Some(random_date(rng, root_founded, date!(2015 - 12 - 31))),
            term: plan_term(rng, today, 3),
            sort_order: (n - sub + 1) as i64,
        });
        orgs.len() - 1
    });
    let names: Vec<String> = if n == 1 {
        Vec::new()
    } else {
        let mut v = branch_names(rng, category, n - sub);
        v.extend((1..=sub).map(|k| format!("直属单位第{}党支部", zh_number(k))));
        v
    };

    // (org index, member indexes) of each branch, for officers.
    let mut branches: Vec<(usize, Vec<usize>, bool)> = Vec::with_capacity(n);
    for (i, &size) in sizes.iter().enumerate() {
        let branch = if n == 1 {
            0
        } else {
            let under_mid = i >= n - sub;
            let parent = if under_mid { mid } else { Some(0) };
            let parent_founded = parent
                .and_then(|p| orgs.get(p))
                .and_then(|o| o.founded)
                .unwrap_or(root_founded);
            let term = plan_term(rng, today, 3);
            let latest = term
                .map_or(add_days(today, -365), |(start, _)| start)
                .min(add_days(today, -365));
            let founded = rng
                .gen_bool(0.98)
                .then(|| random_date(rng, parent_founded, latest));
            orgs.push(OrgPlan {
                kind: "branch",
                name: names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("第{}党支部", i + 1)),
                parent,
                founded,
                term,
                sort_order: if under_mid {
                    (i - (n - sub) + 1) as i64
                } else {
                    (i + 1) as i64
                },
            });
            orgs.len() - 1
        };
        let branch_name = orgs.get(branch).map(|o| o.name.clone()).unwrap_or_default();
        let branch_founded = orgs.get(branch).and_then(|o| o.founded);

        let (full, prob, gone) = member_mix(rng, size);
        let mut mix: Vec<(&'static str, &'static str)> = Vec::with_capacity(size as usize);
        mix.extend((0..full).map(|_| ("full", "active")));
        mix.extend((0..prob).map(|_| ("probationary", "active")));
        mix.extend((0..gone).map(|_| ("full", "transferred_out")));
        mix.shuffle(rng);

        let mut groups = Vec::new();
        if size >= 15 && rng.gen_bool(0.6) {
            for g in 1..=(size / 8).clamp(2, 5) {
                orgs.push(OrgPlan {
                    kind: "group",
                    name: format!("{branch_name}第{}党小组", zh_number(g as usize)),
                    parent: Some(branch),
                    founded: branch_founded,
                    term: None,
                    sort_order: i64::from(g),
                });
                groups.push(orgs.len() - 1);
            }
        }

        let mut own = Vec::with_capacity(mix.len());
        for (k, (kind, status)) in mix.into_iter().enumerate() {
            let mut m = plan_member(rng, today, soe, branch, kind, status, used_ids)?;
            if !groups.is_empty() {
                m.group = groups.get(k % groups.len()).copied();
            }
            own.push(members.len());
            members.push(m);
        }
        branches.push((branch, own, !groups.is_empty()));
    }

    for (org, own, _) in &branches {
        let full = own.iter().filter(|&&i| members[i].active_full()).count();
        for (m, post) in pick_officers(&members, own, branch_posts(full), false) {
            officers.push((*org, m, post));
        }
    }
    if root_kind != "branch" {
        let all: Vec<usize> = (0..members.len()).collect();
        let posts: &[&'static str] = if root_kind == "committee_org" {
            &[POST_SECRETARY, POST_DEPUTY]
        } else {
            &[POST_SECRETARY]
        };
        for (m, post) in pick_officers(&members, &all, posts, true) {
            officers.push((0, m, post));
        }
    }
    if let Some(mid) = mid {
        let under: Vec<usize> = branches
            .iter()
            .filter(|(b, _, _)| orgs.get(*b).is_some_and(|o| o.parent == Some(mid)))
            .flat_map(|(_, own, _)| own.iter().copied())
            .collect();
        for (m, post) in pick_officers(&members, &under, &[POST_SECRETARY], true) {
            officers.push((mid, m, post));
        }
    }

    // Sample account targets: the branch with groups and the most full members.
    let best = branches
        .iter()
        .max_by_key(|(_, own, has_groups)| {
            let full = own.iter().filter(|&&i| members[i].active_full()).count();
            (
                *has_groups,
                full.min(12),
                Reverse(own.first().copied().unwrap_or(0)),
            )
        })
        .map(|(b, own, _)| (*b, own.clone()))
        .unwrap_or((0, Vec::new()));
    let (demo_branch, own) = best;
    let demo_member = own
        .iter()
        .copied()
        .find(|&i| {
            members[i].active_full()
                && !officers
                    .iter()
                    .any(|(o, m, _)| *o == demo_branch && *m == i)
        })
        .or_else(|| own.first().copied())
        .unwrap_or(0);

    Ok(UnitPlan {
        orgs,
        members,
        officers,
        demo_branch,
        demo_member,
    })
}

// ---------------------------------------------------------------------------
// Organizational life (三会一课): five years of meeting records (pure: no I/O)
// ---------------------------------------------------------------------------

/// Meeting kinds, as the `meeting.kind` column spells them.
const K_ASSEMBLY: &str = "general_assembly";
const K_COMMITTEE: &str = "committee_meeting";
const K_GROUP: &str = "group_meeting";
const K_LECTURE: &str = "party_lecture";
const K_THEME_DAY: &str = "theme_day";
const K_LIFE: &str = "life_meeting";
const K_REVIEW: &str = "democratic_review";

/// Record statuses (`meeting.status`).
const S_DRAFT: &str = "draft";
const S_SUBMITTED: &str = "submitted";
const S_ACCEPTED: &str = "accepted";
const S_RETURNED: &str = "returned";

/// Months of records, ending with the current one.
const MEETING_MONTHS: i32 = 60;
/// Meeting records are drawn from their own generator, so adding them leaves the
/// city (units, orgs, members) exactly as it was.
const MEETING_SEED: u64 = SEED + 1;
const OPEN_FROM: Date = date!(2000 - 01 - 01);
const OPEN_UNTIL: Date = date!(2099 - 12 - 31);
/// 1970-01-01 as a Julian day number.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A topic, the dates it fits (inclusive) and the place it happens at ("" for the
/// branch's meeting room).
#[derive(Clone, Copy, Debug)]
struct Topic {
    text: &'static str,
    from: Date,
    until: Date,
    place: &'static str,
}

const fn topic(text: &'static str) -> Topic {
    Topic {
        text,
        from: OPEN_FROM,
        until: OPEN_UNTIL,
        place: "",
    }
}

const fn topic_during(text: &'static str, from: Date, until: Date) -> Topic {
    Topic {
        text,
        from,
        until,
        place: "",
    }
}

const fn topic_at(text: &'static str, place: &'static str) -> Topic {
    Topic {
        text,
        from: OPEN_FROM,
        until: OPEN_UNTIL,
        place,
    }
}

const THEME_DAY_TOPICS: &[Topic] = &[
    topic("重温入党誓词，开展党性教育"),
    topic("学习习近平总书记重要讲话精神"),
    topic("过“政治生日”，重温入党初心"),
    topic("观看警示教育片，筑牢廉洁防线"),
    topic("开展安全生产宣传进社区活动"),
    topic("开展垃圾分类志愿宣传活动"),
    topic_at("参观雨花台烈士陵园，接受革命传统教育", "雨花台烈士陵园"),
    topic_at("参观梅园新村纪念馆，传承红色基因", "梅园新村纪念馆"),
    topic_at("参观渡江胜利纪念馆，赓续红色血脉", "渡江胜利纪念馆"),
    topic_at(
        "参观侵华日军南京大屠杀遇难同胞纪念馆，铭记历史",
        "侵华日军南京大屠杀遇难同胞纪念馆",
    ),
    topic_at("走进社区开展“双报到”志愿服务", "社区党群服务中心"),
    topic_at("开展文明城市创建志愿服务", "社区党群服务中心"),
    topic_during(
        "党史学习教育主题党日",
        date!(2021 - 02 - 20),
        date!(2021 - 12 - 31),
    ),
    topic_during(
        "开展“我为群众办实事”实践活动",
        date!(2021 - 03 - 01),
        date!(2022 - 06 - 30),
    ),
    topic_during(
        "集中学习《习近平谈治国理政》第四卷",
        date!(2022 - 07 - 01),
        OPEN_UNTIL,
    ),
    topic_during("学习贯彻党的二十大精神", date!(2022 - 10 - 23), OPEN_UNTIL),
    topic_during(
        "学习贯彻习近平新时代中国特色社会主义思想主题教育",
        date!(2023 - 04 - 01),
        date!(2023 - 12 - 31),
    ),
    topic_during(
        "专题学习《中国共产党纪律处分条例》",
        date!(2024 - 01 - 01),
        OPEN_UNTIL,
    ),
    topic_during(
        "党纪学习教育：读原文、悟原理",
        date!(2024 - 04 - 01),
        date!(2024 - 07 - 31),
    ),
    topic_during(
        "学习贯彻党的二十届三中全会精神",
        date!(2024 - 07 - 19),
        OPEN_UNTIL,
    ),
    topic_during(
        "深入贯彻中央八项规定精神学习教育",
        date!(2025 - 03 - 01),
        date!(2025 - 07 - 31),
    ),
    topic_during(
        "学习贯彻党的二十届四中全会精神",
        date!(2025 - 10 - 24),
        OPEN_UNTIL,
    ),
];

const COMMITTEE_TOPICS: &[Topic] = &[
    topic("研究本月党建工作安排"),
    topic("研究发展党员工作"),
    topic("研究预备党员转正事宜"),
    topic("研究推荐入党积极分子"),
    topic("研究党员教育管理工作"),
    topic("研究主题党日活动方案"),
    topic("研究党费收缴和使用情况"),
    topic("分析党员思想状况，安排谈心谈话"),
    topic("研究落实全面从严治党主体责任工作"),
    topic("研究意识形态工作"),
    topic("研究民主评议党员工作方案"),
    topic_during(
        "研究党纪学习教育实施方案",
        date!(2024 - 04 - 01),
        date!(2024 - 05 - 31),
    ),
];

const GROUP_TOPICS: &[Topic] = &[
    topic("学习《中国共产党章程》"),
    topic("学习《中国共产党支部工作条例（试行）》"),
    topic("交流学习心得体会"),
    topic("传达学习上级会议精神"),
    topic("学习习近平总书记重要讲话精神"),
    topic("开展批评和自我批评"),
    topic("讨论党小组工作安排"),
    topic("结合业务工作开展岗位建功讨论"),
    topic_during(
        "党史学习教育专题研讨",
        date!(2021 - 02 - 20),
        date!(2021 - 12 - 31),
    ),
    topic_during(
        "学习《习近平谈治国理政》第四卷",
        date!(2022 - 07 - 01),
        OPEN_UNTIL,
    ),
    topic_during("学习党的二十大报告", date!(2022 - 10 - 23), OPEN_UNTIL),
    topic_during(
        "主题教育专题学习研讨",
        date!(2023 - 04 - 01),
        date!(2023 - 12 - 31),
    ),
    topic_during(
        "学习《中国共产党纪律处分条例》",
        date!(2024 - 01 - 01),
        OPEN_UNTIL,
    ),
];

const ASSEMBLY_TOPICS: &[Topic] = &[
    topic("传达学习上级党组织会议精神"),
    topic("讨论接收预备党员"),
    topic("讨论预备党员转正"),
    topic("通报党费收缴情况"),
    topic("通报支部工作情况，征求党员意见建议"),
    topic("学习《中国共产党支部工作条例（试行）》"),
    topic_during("学习贯彻党的二十大精神", date!(2022 - 10 - 23), OPEN_UNTIL),
    topic_during(
        "学习《中国共产党纪律处分条例》",
        date!(2024 - 01 - 01),
        OPEN_UNTIL,
    ),
    topic_during(
        "党纪学习教育专题学习",
        date!(2024 - 04 - 01),
        date!(2024 - 07 - 31),
    ),
    topic_during(
        "学习贯彻党的二十届三中全会精神",
        date!(2024 - 07 - 19),
        OPEN_UNTIL,
    ),
];

const LECTURE_TOPICS: &[Topic] = &[
    topic("书记讲党课：坚定理想信念，筑牢信仰之基"),
    topic("专题党课：严守政治纪律和政治规矩"),
    topic("专题党课：以高质量党建引领高质量发展"),
    topic("专题党课：践行全心全意为人民服务的根本宗旨"),
    topic("专题党课：加强作风建设，勇于担当作为"),
    topic("警示教育党课：以案为鉴，警钟长鸣"),
    topic_during(
        "专题党课：学党史、悟思想、办实事、开新局",
        date!(2021 - 02 - 20),
        date!(2021 - 12 - 31),
    ),
    topic_during(
        "专题党课：弘扬伟大建党精神",
        date!(2021 - 07 - 01),
        OPEN_UNTIL,
    ),
    topic_during(
        "专题党课：深刻领会党的二十大精神",
        date!(2022 - 10 - 23),
        OPEN_UNTIL,
    ),
    topic_during(
        "专题党课：学思践悟新时代党的创新理论",
        date!(2023 - 04 - 01),
        OPEN_UNTIL,
    ),
    topic_during(
        "专题党课：学纪知纪明纪守纪",
        date!(2024 - 04 - 01),
        date!(2024 - 12 - 31),
    ),
    topic_during(
        "专题党课：进一步全面深化改革，推进中国式现代化",
        date!(2024 - 07 - 19),
        OPEN_UNTIL,
    ),
    topic_during(
        "专题党课：锲而不舍落实中央八项规定精神",
        date!(2025 - 03 - 01),
        OPEN_UNTIL,
    ),
];

const MEETING_ROOMS: [&str; 10] = [
    "三楼会议室",
    "党员活动室",
    "二楼小会议室",
    "五楼第一会议室",
    "党建活动中心",
    "一楼多功能厅",
    "四楼会议室",
    "六楼第二会议室",
    "视频会议室",
    "党员之家",
];

/// (text, minutes from midnight)
const START_TIMES: [(&str, i64); 9] = [
    ("08:30", 510),
    ("09:00", 540),
    ("09:30", 570),
    ("10:00", 600),
    ("14:00", 840),
    ("14:30", 870),
    ("15:00", 900),
    ("15:30", 930),
    ("16:00", 960),
];

const LEAVE_REASONS: [&str; 10] = [
    "出差",
    "病假",
    "外出培训",
    "公务外出",
    "事假",
    "年休假",
    "参加上级会议",
    "下基层调研",
    "陪护家人",
    "值班",
];

const RETURN_COMMENTS: [&str; 5] = [
    "请补充会议记录和签到表",
    "会议记录过于简单，请补充讨论情况",
    "请上传会议签到表",
    "参会人数与签到记录不一致，请核对",
    "请补充会议照片等佐证材料",
];

const MINUTES_CLOSINGS: [&str; 6] = [
    "与会党员结合工作实际交流了心得体会",
    "会议对下一阶段工作作了安排",
    "与会党员逐一发言，表示将以学促干",
    "会议要求全体党员把学习成果转化为推动工作的实际成效",
    "会议还通报了近期支部工作情况",
    "与会党员围绕主题进行了认真讨论",
];

/// An active member of a branch as the meeting records need them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RosterMember {
    id_number: String,
    name: String,
    joined: Date,
    /// When they became a full (voting) member; `None` while probationary.
    full_since: Option<Date>,
}

/// One branch with what its meeting records refer to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BranchRoster {
    unit_id: i64,
    branch_id: i64,
    founded: Option<Date>,
    /// Active members only.
    members: Vec<RosterMember>,
    /// Indexes into `members`, the secretary first (as `org_officer` lists them).
    officers: Vec<usize>,
    /// (group org id, indexes into `members`)
    groups: Vec<(i64, Vec<usize>)>,
    /// Who reviews the branch's records: the unit's party secretary.
    reviewer: String,
}

/// The branches of a planned unit, with `org_ids` the written ids of `plan.orgs`.
fn branch_rosters(
    plan: &UnitPlan,
    unit_id: i64,
    org_ids: &[i64],
) -> anyhow::Result<Vec<BranchRoster>> {
    let reviewer = plan
        .officers
        .iter()
        .find(|(org, _, post)| *org == 0 && *post == POST_SECRETARY)
        .and_then(|(_, m, _)| plan.members.get(*m))
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let mut rosters = Vec::new();
    for (b, org) in plan.orgs.iter().enumerate() {
        if org.kind != "branch" {
            continue;
        }
        // Plan member index -> roster index.
        let mut at: HashMap<usize, usize> = HashMap::new();
        let mut members = Vec::new();
        for (i, m) in plan.members.iter().enumerate() {
            if m.branch != b || m.status != "active" {
                continue;
            }
            at.insert(i, members.len());
            members.push(RosterMember {
                id_number: m.id_number.clone(),
                name: m.name.clone(),
                joined: m.joined,
                // As the register reads it: a full member without a conversion date
                // counts as full from joining.
                full_since: (m.kind == "full").then(|| m.converted.unwrap_or(m.joined)),
            });
        }
        let officers = plan
            .officers
            .iter()
            .filter(|(org, _, _)| *org == b)
            .filter_map(|(_, m, _)| at.get(m).copied())
            .collect();
        let mut groups = Vec::new();
        for (g, o) in plan.orgs.iter().enumerate() {
            if o.kind == "group" && o.parent == Some(b) {
                let own = plan
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.group == Some(g))
                    .filter_map(|(i, _)| at.get(&i).copied())
                    .collect();
                groups.push((id_at(org_ids, g)?, own));
            }
        }
        rosters.push(BranchRoster {
            unit_id,
            branch_id: id_at(org_ids, b)?,
            founded: org.founded,
            members,
            officers,
            groups,
            reviewer: reviewer.clone(),
        });
    }
    Ok(rosters)
}

/// One meeting record with its attendance (kept for the last twelve months only) and,
/// for the most recent records, its review trail.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MeetingPlan {
    kind: &'static str,
    /// Group org id, for a group meeting.
    group: Option<i64>,
    held_on: Date,
    start: &'static str,
    duration: i64,
    place: &'static str,
    topic: String,
    /// Indexes into the roster's members.
    presenter: usize,
    recorder: usize,
    minutes: String,
    status: &'static str,
    eligible: i64,
    present: i64,
    quorum_met: bool,
    review_comment: &'static str,
    submitted_at: Option<i64>,
    reviewed_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    /// (member index, state, reason)
    attendance: Vec<(usize, &'static str, &'static str)>,
    /// (action, comment, by the reviewer (else by the recorder), at)
    trail: Vec<(&'static str, &'static str, bool, i64)>,
}

/// `year * 12 + month - 1`, so consecutive months are consecutive numbers.
fn month_index(d: Date) -> i32 {
    d.year() * 12 + i32::from(u8::from(d.month())) - 1
}

fn month_start(k: i32) -> Date {
    let month = time::Month::try_from(k.rem_euclid(12) as u8 + 1).unwrap_or(time::Month::January);
    Date::from_calendar_date(k.div_euclid(12), month, 1).unwrap_or(OPEN_FROM)
}

/// The last day of month `k`.
fn month_end(k: i32) -> Date {
    add_days(month_start(k + 1), -1)
}

/// Unix seconds of `minute` (from midnight) on `d` in Beijing time.
fn beijing_ts(d: Date, minute: i64) -> i64 {
    (i64::from(d.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY) * 86_400 + minute * 60 - 8 * 3_600
}

/// A random working day in `lo..=hi` (a weekend day when the range has no other).
fn working_day(rng: &mut StdRng, lo: Date, hi: Date) -> Date {
    on_working_day(random_date(rng, lo, hi), lo, hi)
}

/// `d`, or for a weekend day the nearest Friday or Monday in `lo..=hi` (the weekend day
/// itself when neither is).
fn on_working_day(d: Date, lo: Date, hi: Date) -> Date {
    let shifts: [i64; 2] = match d.weekday() {
        time::Weekday::Saturday => [-1, 2],
        time::Weekday::Sunday => [1, -2],
        _ => return d,
    };
    shifts
        .into_iter()
        .map(|k| add_days(d, k))
        .find(|moved| (lo..=hi).contains(moved))
        .unwrap_or(d)
}

/// A topic fitting `day` from `list` (the undated ones always fit).
fn topic_for(rng: &mut StdRng, list: &[Topic], day: Date) -> Topic {
    let fitting: Vec<&Topic> = list
        .iter()
        .filter(|t| t.from <= day && day <= t.until)
        .collect();
    match fitting.get(rng.gen_range(0..fitting.len().max(1))) {
        Some(t) => **t,
        None => topic("学习习近平总书记重要讲话精神"),
    }
}

/// How reliably a branch holds its meetings: most hold nearly all; some have a bad
/// stretch of several months; a few miss many.
struct Diligence {
    held: f64,
    /// Months (by `month_index`) in which the branch held few meetings.
    slump: Option<(i32, i32)>,
}

impl Diligence {
    fn draw(rng: &mut StdRng, first: i32, last: i32) -> Diligence {
        let r: f64 = rng.gen();
        if r < 0.87 {
            Diligence {
                held: 0.99,
                slump: None,
            }
        } else if r < 0.97 {
            let from = rng.gen_range(first..=last);
            let months = rng.gen_range(3..=8);
            Diligence {
                held: 0.9,
                slump: Some((from, from + months)),
            }
        } else {
            Diligence {
                held: rng.gen_range(0.35..0.6),
                slump: None,
            }
        }
    }

    fn holds(&self, rng: &mut StdRng, day: Date) -> bool {
        let k = month_index(day);
        let p = match self.slump {
            Some((a, b)) if (a..b).contains(&k) => 0.25,
            _ => self.held,
        };
        rng.gen_bool(p)
    }
}

/// A meeting due (and held) on a day; `group` indexes the roster's groups.
#[derive(Clone, Copy, Debug)]
struct Slot {
    kind: &'static str,
    group: Option<usize>,
    day: Date,
}

/// Order of kinds held on the same day: the committee prepares what the others do.
fn kind_rank(kind: &str) -> u8 {
    match kind {
        K_COMMITTEE => 0,
        K_ASSEMBLY => 1,
        K_LIFE => 2,
        K_REVIEW => 3,
        K_LECTURE => 4,
        K_THEME_DAY => 5,
        _ => 6,
    }
}

/// The meetings a branch held, collected period by period.
struct Held {
    diligence: Diligence,
    today: Date,
    slots: Vec<Slot>,
}

impl Held {
    /// The meetings of `kind` in the period `lo..=hi` that the branch held by today: the
    /// one due and, with probability `extra`, a second one. A missed one takes its
    /// extra along.
    fn period(
        &mut self,
        rng: &mut StdRng,
        kind: &'static str,
        group: Option<usize>,
        (lo, hi): (Date, Date),
        extra: f64,
    ) {
        if lo > hi {
            return;
        }
        for n in 0..2 {
            if n == 1 && !rng.gen_bool(extra) {
                break;
            }
            let day = working_day(rng, lo, hi);
            if day > self.today {
                // Not held yet this period.
                continue;
            }
            if n == 0 && !self.diligence.holds(rng, day) {
                break;
            }
            self.slots.push(Slot { kind, group, day });
        }
    }

    /// The yearly life meeting in `lo..=hi`, usually early in the year (about the year
    /// before) or at its end, and the democratic review that follows it within days.
    fn year(&mut self, rng: &mut StdRng, (lo, hi): (Date, Date)) {
        if lo > hi {
            return;
        }
        let (y, _, _) = hi.to_calendar_date();
        let jan = month_start(y * 12);
        let preferred = match rng.gen_range(0..100) {
            0..=59 => random_date(rng, jan, add_days(month_start(y * 12 + 2), 30)),
            60..=94 => random_date(rng, add_days(month_start(y * 12 + 10), 14), hi),
            _ => random_date(rng, lo, hi),
        };
        let day = if (lo..=hi).contains(&preferred) {
            preferred
        } else {
            random_date(rng, lo, hi)
        };
        let day = on_working_day(day, lo, hi);
        let life = (day <= self.today && self.diligence.holds(rng, day)).then_some(day);
        if let Some(day) = life {
            self.slots.push(Slot {
                kind: K_LIFE,
                group: None,
                day,
            });
        }
        let review = match life {
            Some(d) => on_working_day(add_days(d, rng.gen_range(0..=3)).min(hi), d, hi),
            None => working_day(rng, lo, hi),
        };
        if review <= self.today && self.diligence.holds(rng, review) {
            self.slots.push(Slot {
                kind: K_REVIEW,
                group: None,
                day: review,
            });
        }
    }
}

/// The days of a branch's meetings over the `MEETING_MONTHS` ending with today's month,
/// from its founding on, in order. Besides the one due, some periods have a second
/// theme day, committee meeting, assembly or lecture.
fn meeting_slots(rng: &mut StdRng, today: Date, roster: &BranchRoster) -> Vec<Slot> {
    let last = month_index(today);
    let first = last - (MEETING_MONTHS - 1);
    let from = roster
        .founded
        .map_or(month_start(first), |f| f.max(month_start(first)));
    let mut held = Held {
        diligence: Diligence::draw(rng, first, last),
        today,
        slots: Vec::with_capacity(64 * MEETING_MONTHS as usize / 12),
    };
    let committee = roster.officers.len() >= 3;
    let span = |a: i32, b: i32| (month_start(a).max(from), month_end(b));
    for k in first..=last {
        held.period(rng, K_THEME_DAY, None, span(k, k), 0.2);
        if committee {
            held.period(rng, K_COMMITTEE, None, span(k, k), 0.25);
        }
        for g in 0..roster.groups.len() {
            held.period(rng, K_GROUP, Some(g), span(k, k), 0.03);
        }
    }
    for q in first.div_euclid(3)..=last.div_euclid(3) {
        held.period(rng, K_ASSEMBLY, None, span(q * 3, q * 3 + 2), 0.25);
        held.period(rng, K_LECTURE, None, span(q * 3, q * 3 + 2), 0.5);
    }
    for y in first.div_euclid(12)..=last.div_euclid(12) {
        held.year(rng, span(y * 12, y * 12 + 11));
    }
    let mut slots = held.slots;
    slots.sort_by_key(|s| (s.day, kind_rank(s.kind), s.group));
    slots
}

/// Who is expected at a meeting (indexes into the roster's members): the committee for
/// its meeting, the full members who had become so by then for the assembly, the group's
/// members for its meeting, else every member who had joined by then.
fn eligible_for(roster: &BranchRoster, slot: Slot) -> Vec<usize> {
    let members = &roster.members;
    let joined = |i: &usize| members[*i].joined <= slot.day;
    match (slot.kind, slot.group) {
        (K_COMMITTEE, _) => roster.officers.clone(),
        (K_ASSEMBLY, _) => (0..members.len())
            .filter(|&i| members[i].full_since.is_some_and(|f| f <= slot.day))
            .collect(),
        (K_GROUP, Some(g)) => roster
            .groups
            .get(g)
            .map(|(_, own)| own.iter().copied().filter(joined).collect())
            .unwrap_or_default(),
        _ => (0..members.len()).filter(joined).collect(),
    }
}

/// A meeting's topic and place; `room` is where the branch usually meets.
fn topic_and_place(
    rng: &mut StdRng,
    kind: &'static str,
    day: Date,
    room: &'static str,
) -> (String, &'static str) {
    // A life meeting or review early in the year is about the year before.
    let year = if u8::from(day.month()) <= 6 {
        day.year() - 1
    } else {
        day.year()
    };
    let list = match kind {
        K_LIFE => return (format!("{year}年度组织生活会"), room),
        K_REVIEW => return (format!("{year}年度民主评议党员"), room),
        K_THEME_DAY if day.month() == time::Month::July => {
            let years = day.year() - 1921;
            return (format!("庆祝中国共产党成立{years}周年主题党日活动"), room);
        }
        K_THEME_DAY if day.month() == time::Month::March && rng.gen_bool(0.4) => {
            return ("开展“学雷锋”志愿服务活动".to_string(), "社区党群服务中心");
        }
        K_ASSEMBLY => ASSEMBLY_TOPICS,
        K_COMMITTEE => COMMITTEE_TOPICS,
        K_GROUP => GROUP_TOPICS,
        K_LECTURE => LECTURE_TOPICS,
        _ => THEME_DAY_TOPICS,
    };
    let chosen = topic_for(rng, list, day);
    let place = if !chosen.place.is_empty() {
        chosen.place
    } else if rng.gen_bool(0.85) {
        room
    } else {
        *pick(rng, &MEETING_ROOMS)
    };
    (chosen.text.to_string(), place)
}

/// Records of the current month are often still drafts or awaiting review, a few of
/// last month too; older ones were all accepted.
fn record_status(rng: &mut StdRng, day: Date, this_month: Date, last_month: Date) -> &'static str {
    if day >= this_month {
        weighted(
            rng,
            &[
                (S_ACCEPTED, 35),
                (S_SUBMITTED, 30),
                (S_RETURNED, 7),
                (S_DRAFT, 28),
            ],
        )
    } else if day >= last_month {
        weighted(
            rng,
            &[
                (S_ACCEPTED, 82),
                (S_SUBMITTED, 10),
                (S_RETURNED, 4),
                (S_DRAFT, 4),
            ],
        )
    } else {
        S_ACCEPTED
    }
}

/// A branch's meeting records, oldest first. `t` is now (unix seconds): nothing ends
/// after it, and no timestamp is later.
fn plan_branch_meetings(
    rng: &mut StdRng,
    today: Date,
    t: i64,
    roster: &BranchRoster,
) -> Vec<MeetingPlan> {
    let slots = meeting_slots(rng, today, roster);
    let members = &roster.members;
    let this_month = month_start(month_index(today));
    let last_month = month_start(month_index(today) - 1);
    let recent = add_years(today, -1);
    // Habits of the branch: its room, its usual starting time, who keeps the minutes.
    let room = *pick(rng, &MEETING_ROOMS);
    let usual_start = *pick(rng, &START_TIMES);
    let secretary = roster.officers.first().copied();
    let clerk = roster.officers.get(1).copied().or_else(|| {
        (0..members.len()).find(|&i| Some(i) != secretary && members[i].full_since.is_some())
    });
    let mut out: Vec<MeetingPlan> = Vec::with_capacity(slots.len());
    // (day, end minute) of the previous meeting, so meetings on one day do not overlap.
    let mut previous: Option<(Date, i64)> = None;
    for slot in slots {
        let day = slot.day;
        let eligible = eligible_for(roster, slot);
        let Some(&first) = eligible.first() else {
            continue;
        };

        let (mut start_text, mut start) = if rng.gen_bool(0.7) {
            usual_start
        } else {
            *pick(rng, &START_TIMES)
        };
        let duration = match slot.kind {
            K_COMMITTEE | K_GROUP => rng.gen_range(6..=9) * 10,
            K_THEME_DAY | K_LIFE => rng.gen_range(9..=18) * 10,
            _ => rng.gen_range(6..=15) * 10,
        };
        if let Some((d, end)) = previous {
            if d == day && start < end {
                // Right after the previous one, at the next half hour.
                let next = (end + 10 + 29) / 30 * 30;
                if let Some((text, minute)) = START_TIMES.iter().find(|(_, m)| *m >= next) {
                    start_text = text;
                    start = *minute;
                }
            }
        }
        let start_ts = beijing_ts(day, start);
        let end_ts = start_ts + duration * 60;
        if end_ts > t {
            continue;
        }
        previous = Some((day, start + duration));

        let (topic_text, place) = topic_and_place(rng, slot.kind, day, room);

        let presenter = match slot.kind {
            // The group's leader: its first full member.
            K_GROUP => eligible
                .iter()
                .copied()
                .find(|&i| members[i].full_since.is_some())
                .unwrap_or(first),
            K_LECTURE if rng.gen_bool(0.35) => *pick(rng, &eligible),
            _ => secretary.filter(|s| eligible.contains(s)).unwrap_or(first),
        };
        let recorder = clerk
            .filter(|c| slot.kind != K_GROUP && *c != presenter && eligible.contains(c))
            .or_else(|| eligible.iter().copied().find(|&i| i != presenter))
            .unwrap_or(presenter);

        let keep = day >= recent;
        let rate = rng.gen_range(0.86..0.97);
        let mut present = 0i64;
        let mut attendance = Vec::with_capacity(if keep { eligible.len() } else { 0 });
        for &i in &eligible {
            let (state, reason) = if i == presenter || i == recorder || rng.gen_bool(rate) {
                ("present", "")
            } else if rng.gen_bool(0.85) {
                ("leave", *pick(rng, &LEAVE_REASONS))
            } else {
                ("absent", "")
            };
            if state == "present" {
                present += 1;
            }
            if keep {
                attendance.push((i, state, reason));
            }
        }
        let eligible_count = eligible.len() as i64;
        let quorum_met = match slot.kind {
            K_ASSEMBLY | K_COMMITTEE => present * 2 >= eligible_count,
            _ => true,
        };

        let status = record_status(rng, day, this_month, last_month);
        let created_at = (end_ts + rng.gen_range(600..3 * 86_400)).min(t);
        let submitted_at =
            (status != S_DRAFT).then(|| (created_at + rng.gen_range(0..2 * 86_400)).min(t));
        let reviewed_at = match (status, submitted_at) {
            (S_ACCEPTED | S_RETURNED, Some(s)) => {
                Some((s + rng.gen_range(3_600..5 * 86_400)).min(t))
            }
            _ => None,
        };
        let updated_at = reviewed_at.or(submitted_at).unwrap_or(created_at);
        let review_comment = if status == S_RETURNED {
            *pick(rng, &RETURN_COMMENTS)
        } else {
            ""
        };

        let mut trail = Vec::new();
        if day >= last_month {
            if let Some(s) = submitted_at {
                if status != S_RETURNED && rng.gen_bool(0.12) {
                    // Sent back once before, then corrected and submitted again.
                    let step = (s - created_at) / 3;
                    trail.push(("submit", "", false, created_at + step));
                    trail.push((
                        "return",
                        *pick(rng, &RETURN_COMMENTS),
                        true,
                        created_at + 2 * step,
                    ));
                }
                trail.push(("submit", "", false, s));
                if let Some(r) = reviewed_at {
                    let action = if status == S_RETURNED {
                        "return"
                    } else {
                        "accept"
                    };
                    trail.push((action, review_comment, true, r));
                }
            }
        }

        let minutes = if keep && (status == S_ACCEPTED || status == S_SUBMITTED) {
            format!(
                "会议由{}主持，应到{}人，实到{}人。会议围绕“{}”进行了学习讨论，{}。",
                members[presenter].name,
                eligible_count,
                present,
                topic_text,
                pick(rng, &MINUTES_CLOSINGS)
            )
        } else {
            String::new()
        };

        out.push(MeetingPlan {
            kind: slot.kind,
            group: slot
                .group
                .and_then(|g| roster.groups.get(g))
                .map(|(id, _)| *id),
            held_on: day,
            start: start_text,
            duration,
            place,
            topic: topic_text,
            presenter,
            recorder,
            minutes,
            status,
            eligible: eligible_count,
            present,
            quorum_met,
            review_comment,
            submitted_at,
            reviewed_at,
            created_at,
            updated_at,
            attendance,
            trail,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

struct PendingMember {
    unit_id: i64,
    branch_id: i64,
    group_id: Option<i64>,
    m: MemberPlan,
}

const MEMBER_INSERT: &str = "insert into member (unit_id, branch_id, group_id, name, name_initials, gender, ethnicity, \
     birth_date, id_number, id_suffix, phone, education, joined_on, kind, converted_on, position, is_division_head, \
     status, created_at, updated_at, id_hash, status_on) values ";

/// Writes the pending members, their ID numbers and phones encrypted; `by_hash` learns each
/// blind index's ID number, to find the members' ids afterwards.
async fn flush_members(
    conn: &mut AnyConnection,
    keys: &KeyRing,
    rows: &mut Vec<PendingMember>,
    (t, today): (i64, Date),
    by_hash: &mut HashMap<String, String>,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(MEMBER_INSERT);
    for (i, r) in rows.drain(..).enumerate() {
        let m = r.m;
        let sealed = keys.seal_member(&m.id_number, &m.phone)?;
        by_hash.insert(sealed.id_hash.clone(), m.id_number);
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(r.unit_id)
            .push(", ")
            .bind(r.branch_id)
            .push(", ")
            .bind(r.group_id)
            .push(", ");
        sql.bind(m.name)
            .push(", ")
            .bind(m.initials)
            .push(", ")
            .bind(m.gender)
            .push(", ");
        sql.bind(m.ethnicity)
            .push(", ")
            .bind(format_date(m.birth))
            .push(", ")
            .bind(sealed.id_number)
            .push(", ");
        sql.bind(sealed.id_suffix)
            .push(", ")
            .bind(sealed.phone)
            .push(", ")
            .bind(m.education)
            .push(", ");
        sql.bind(format_date(m.joined))
            .push(", ")
            .bind(m.kind)
            .push(", ")
            .bind(m.converted.map(format_date));
        sql.push(", ")
            .bind(m.position)
            .push(", ")
            .bind(i64::from(m.division_head))
            .push(", ");
        // Those who left did so before the demo's five years of meetings, which never
        // list them.
        let status_on =
            (m.status != "active").then(|| format_date(add_years(today, -6).max(m.joined)));
        sql.bind(m.status)
            .push(", ")
            .bind(t)
            .push(", ")
            .bind(t)
            .push(", ")
            .bind(sealed.id_hash)
            .push(", ")
            .bind(status_on)
            .push(")");
    }
    sqlx::query_with(&sql.text, sql.arguments())
        .execute(&mut *conn)
        .await
        .context("写入演示党员失败")?;
    Ok(())
}

/// Rows per multi-row INSERT. SQLite looks each `$n` up by name with a linear search
/// while parsing, so a statement costs the square of its parameters there: about 1,000
/// per statement is fastest (measured: 30,000 members in 2.6 s against 9 s at 10,000).
/// PostgreSQL pays per round trip instead, so it takes 10,000 (its limit is 65,535).
fn batch_rows(backend: Backend, columns: usize) -> usize {
    let params = match backend {
        Backend::Sqlite => 1_000,
        Backend::Postgres => 10_000,
    };
    (params / columns.max(1)).max(1)
}

fn id_at(ids: &[i64], i: usize) -> anyhow::Result<i64> {
    ids.get(i)
        .copied()
        .with_context(|| format!("演示数据内部错误：找不到第 {i} 个组织"))
}

/// What the sample accounts point at, found while writing the first unit.
struct DemoTargets {
    unit_id: i64,
    unit_name: String,
    branch_id: i64,
    branch_name: String,
    member_id_number: String,
    member_name: String,
    /// Known once the members are written.
    member_id: Option<i64>,
}

struct Written {
    units: i64,
    orgs: i64,
    branches: i64,
    members: i64,
    communities: i64,
    meetings: MeetingCounts,
    targets: Option<DemoTargets>,
}

/// Writes the whole plan in one transaction (all or nothing), ending with one audit entry.
async fn write_all(state: &AppState, scale: Scale, today: Date) -> anyhow::Result<Written> {
    let categories: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("select code, category_id from category")
            .fetch_all(&state.db.pool)
            .await
            .context("读取类别失败")?
            .into_iter()
            .collect();
    let mut planner = Planner::new(scale, today);
    let total_members = scale.sizes().members;

    let mut tx = state.db.begin_write().await?;
    if state.db.backend == Backend::Sqlite {
        // Millions of attendance rows check their member by foreign key. With ID numbers
        // and phones encrypted the city's member table (~10 MB) no longer fits the 8 MB
        // page cache of a connection, which cost 2-4 s here (mostly in the kernel, reading
        // pages back); this one-shot bulk job's connection gets 64 MB instead, which more than
        // wins that back (measured side by side with the version before encryption).
        sqlx::query("pragma cache_size = -64000")
            .execute(tx.conn())
            .await?;
    }
    let existing: i64 = sqlx::query_scalar("select count(*) from unit")
        .fetch_one(tx.conn())
        .await
        .context("检查数据库是否为空失败")?;
    if existing > 0 {
        anyhow::bail!(MSG_NOT_EMPTY);
    }

    let t = now();
    let bar = ProgressBar::new(total_members as u64);
    if let Ok(style) =
        ProgressStyle::with_template("生成演示党员 [{bar:40}] {pos}/{len} {per_sec} 预计剩余 {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }

    let mut written = Written {
        units: 0,
        orgs: 0,
        branches: 0,
        members: 0,
        communities: 0,
        meetings: MeetingCounts::default(),
        targets: None,
    };
    let member_batch = batch_rows(state.db.backend, MEMBER_COLUMNS);
    let mut pending: Vec<PendingMember> = Vec::with_capacity(member_batch);
    let mut by_hash: HashMap<String, String> = HashMap::with_capacity(total_members);
    let mut officers: Vec<(i64, String, &'static str)> = Vec::new();
    let mut rosters: Vec<BranchRoster> = Vec::with_capacity(scale.sizes().branches);
    let specs = planner.units.clone();
    for (u, spec) in specs.iter().enumerate() {
        let plan = planner.plan_unit(spec)?;
        let category_id = *categories
            .get(spec.category)
            .with_context(|| format!("缺少类别 {}，请先检查类别设置", spec.category))?;
        let unit_id: i64 = sqlx::query_scalar(
            "insert into unit (name, short_name, category_id, sort_order, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6) returning unit_id",
        )
        .bind(spec.name.clone())
        .bind(spec.short_name.clone())
        .bind(category_id)
        .bind(u as i64 + 1)
        .bind(t)
        .bind(t)
        .fetch_one(tx.conn())
        .await
        .with_context(|| format!("写入单位 {} 失败", spec.name))?;
        sqlx::query(
            "insert into unit_category_history (unit_id, category_id, effective_on, reason, created_by, created_at) \
             values ($1, $2, $3, $4, null, $5)",
        )
        .bind(unit_id)
        .bind(category_id)
        .bind(format_date(CLASSIFIED_ON))
        .bind(HISTORY_REASON)
        .bind(t)
        .execute(tx.conn())
        .await
        .context("写入类别历史失败")?;
        written.units += 1;

        let mut org_ids: Vec<i64> = Vec::with_capacity(plan.orgs.len());
        for o in &plan.orgs {
            let parent = match o.parent {
                Some(p) => Some(id_at(&org_ids, p)?),
                None => None,
            };
            let id: i64 = sqlx::query_scalar(
                "insert into org (unit_id, parent_id, kind, name, founded_on, term_start, term_end, sort_order, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning org_id",
            )
            .bind(unit_id)
            .bind(parent)
            .bind(o.kind)
            .bind(o.name.clone())
            .bind(o.founded.map(format_date))
            .bind(o.term.map(|(s, _)| format_date(s)))
            .bind(o.term.map(|(_, e)| format_date(e)))
            .bind(o.sort_order)
            .bind(t)
            .bind(t)
            .fetch_one(tx.conn())
            .await
            .with_context(|| format!("写入组织 {} {} 失败", spec.name, o.name))?;
            org_ids.push(id);
            written.orgs += 1;
            if o.kind == "branch" {
                written.branches += 1;
            }
        }

        rosters.extend(branch_rosters(&plan, unit_id, &org_ids)?);
        for (org, member, post) in &plan.officers {
            let id_number = plan
                .members
                .get(*member)
                .map(|m| m.id_number.clone())
                .unwrap_or_default();
            officers.push((id_at(&org_ids, *org)?, id_number, *post));
        }
        if u == 0 {
            let m = plan.members.get(plan.demo_member);
            written.targets = Some(DemoTargets {
                unit_id,
                unit_name: spec.name.clone(),
                branch_id: id_at(&org_ids, plan.demo_branch)?,
                branch_name: plan
                    .orgs
                    .get(plan.demo_branch)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                member_id_number: m.map(|m| m.id_number.clone()).unwrap_or_default(),
                member_name: m.map(|m| m.name.clone()).unwrap_or_default(),
                member_id: None,
            });
        }

        for m in plan.members {
            let branch_id = id_at(&org_ids, m.branch)?;
            let group_id = match m.group {
                Some(g) => Some(id_at(&org_ids, g)?),
                None => None,
            };
            pending.push(PendingMember {
                unit_id,
                branch_id,
                group_id,
                m,
            });
            if pending.len() >= member_batch {
                let n = pending.len();
                flush_members(
                    tx.conn(),
                    &state.keys,
                    &mut pending,
                    (t, today),
                    &mut by_hash,
                )
                .await?;
                written.members += n as i64;
                bar.inc(n as u64);
            }
        }
    }
    let n = pending.len();
    flush_members(
        tx.conn(),
        &state.keys,
        &mut pending,
        (t, today),
        &mut by_hash,
    )
    .await?;
    written.members += n as i64;
    bar.inc(n as u64);
    bar.finish_and_clear();

    // Officers refer to members by id; the unique ID number (its blind index) finds them.
    let ids: HashMap<String, i64> =
        sqlx::query_as::<_, (i64, String)>("select member_id, id_hash from member")
            .fetch_all(tx.conn())
            .await
            .context("读取党员编号失败")?
            .into_iter()
            .filter_map(|(id, hash)| Some((by_hash.remove(&hash)?, id)))
            .collect();
    for chunk in officers.chunks(batch_rows(state.db.backend, OFFICER_COLUMNS)) {
        let mut sql =
            Sql::new("insert into org_officer (org_id, member_id, post, created_at) values ");
        for (i, (org_id, id_number, post)) in chunk.iter().enumerate() {
            let member_id = *ids
                .get(id_number)
                .context("演示数据内部错误：找不到任职党员")?;
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(*org_id)
                .push(", ")
                .bind(member_id)
                .push(", ")
                .bind(*post)
                .push(", ")
                .bind(t)
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await
            .context("写入支部委员失败")?;
    }

    for chunk in planner
        .communities
        .chunks(batch_rows(state.db.backend, COMMUNITY_COLUMNS))
    {
        let mut sql = Sql::new(
            "insert into community (name, address, contact, created_at, updated_at) values ",
        );
        for (i, c) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(c.name.clone())
                .push(", ")
                .bind(c.address.clone())
                .push(", ")
                .bind(c.contact.clone());
            sql.push(", ").bind(t).push(", ").bind(t).push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await
            .context("写入社区失败")?;
        written.communities += chunk.len() as i64;
    }

    if let Some(targets) = &mut written.targets {
        targets.member_id = ids.get(&targets.member_id_number).copied();
    }

    written.meetings =
        write_meetings(tx.conn(), state.db.backend, today, t, &rosters, &ids).await?;

    tx.audit(&Actor::system(),
        Entry::new(
            "demo.generate",
            "demo",
            "",
            format!(
                "生成演示数据（{}）：{} 个单位、{} 个党组织（其中党支部 {} 个）、{} 名党员、{} 个社区、{} 条组织生活记录",
                scale.label(),
                written.units,
                written.orgs,
                written.branches,
                written.members,
                written.communities,
                written.meetings.meetings
            ),
        ),
    )
    .await
    .context("写入审计日志失败")?;
    tx.commit().await?;
    Ok(written)
}

const MEETING_INSERT: &str = "insert into meeting (meeting_id, unit_id, branch_id, group_id, kind, held_on, \
     start_time, duration_minutes, place, topic, presenter, recorder, minutes, status, eligible_count, present_count, \
     quorum_met, review_comment, submitted_at, reviewed_at, created_at, updated_at) values ";
const ATTENDANCE_INSERT: &str =
    "insert into meeting_attendance (meeting_id, member_id, state, reason) values ";
const REVIEW_INSERT: &str =
    "insert into meeting_review (meeting_id, action, comment, actor_name, at) values ";

/// A value of a buffered row. Text that outlives the buffer (constants, names in the
/// rosters) stays borrowed until sqlx takes the row.
enum Val<'a> {
    Int(i64),
    NullInt,
    Str(&'a str),
    Text(String),
}

impl From<i64> for Val<'_> {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<Option<i64>> for Val<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullInt, Val::Int)
    }
}
impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Str(v)
    }
}
impl From<String> for Val<'_> {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}

/// Rows per multi-row INSERT of the meeting tables. On SQLite these use anonymous `?`
/// placeholders: binding a numbered `$n` makes SQLite search the statement's parameter
/// names (see `batch_rows`), an anonymous one is bound by position, so a statement
/// can be larger and the 1.2 million rows of a city take a few seconds rather than
/// twenty. PostgreSQL keeps `$n`, as everywhere else.
fn meeting_batch_rows(backend: Backend, columns: usize) -> usize {
    let params = match backend {
        Backend::Sqlite => 4_000,
        Backend::Postgres => 10_000,
    };
    (params / columns.max(1)).max(1)
}

/// Rows of one multi-row INSERT waiting to be written.
struct RowBuffer<'a> {
    head: &'static str,
    columns: usize,
    max_rows: usize,
    values: Vec<Val<'a>>,
    what: &'static str,
}

impl<'a> RowBuffer<'a> {
    fn new(backend: Backend, head: &'static str, columns: usize, what: &'static str) -> Self {
        let max_rows = meeting_batch_rows(backend, columns);
        RowBuffer {
            head,
            columns,
            max_rows,
            values: Vec::with_capacity(max_rows * columns),
            what,
        }
    }

    fn push(&mut self, v: impl Into<Val<'a>>) {
        self.values.push(v.into());
    }

    fn full(&self) -> bool {
        self.values.len() >= self.max_rows * self.columns
    }

    /// Writes the buffered rows; returns how many.
    async fn flush(&mut self, conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<i64> {
        use std::fmt::Write;
        let rows = self.values.len() / self.columns.max(1);
        if rows == 0 {
            return Ok(0);
        }
        let mut text = String::with_capacity(self.head.len() + rows * self.columns * 8);
        text.push_str(self.head);
        let mut n = 0usize;
        for r in 0..rows {
            text.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..self.columns {
                if c > 0 {
                    text.push_str(", ");
                }
                n += 1;
                match backend {
                    Backend::Sqlite => text.push('?'),
                    Backend::Postgres => {
                        let _ = write!(text, "${n}");
                    }
                }
            }
            text.push(')');
        }
        let mut args = AnyArguments::default();
        for v in &self.values {
            match v {
                Val::Int(i) => args.add(*i),
                Val::NullInt => args.add(None::<i64>),
                Val::Str(s) => args.add(*s),
                Val::Text(s) => args.add(s.as_str()),
            }
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context(self.what)?;
        }
        sqlx::query_with(&text, args)
            .execute(&mut *conn)
            .await
            .context(self.what)?;
        self.values.clear();
        Ok(rows as i64)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct MeetingCounts {
    meetings: i64,
    attendance: i64,
    reviews: i64,
}

/// Writes every branch's meeting records, their attendance and review trail.
async fn write_meetings(
    conn: &mut AnyConnection,
    backend: Backend,
    today: Date,
    t: i64,
    rosters: &[BranchRoster],
    ids: &HashMap<String, i64>,
) -> anyhow::Result<MeetingCounts> {
    let bar = ProgressBar::new(rosters.len() as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "生成组织生活记录 [{bar:40}] {pos}/{len} 个党支部 预计剩余 {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    // Ids are given here so attendance can refer to its meeting without a round trip.
    let mut next_id: i64 = sqlx::query_scalar("select coalesce(max(meeting_id), 0) from meeting")
        .fetch_one(&mut *conn)
        .await
        .context("读取组织生活记录编号失败")?;
    let mut meetings = RowBuffer::new(
        backend,
        MEETING_INSERT,
        MEETING_COLUMNS,
        "写入演示组织生活记录失败",
    );
    let mut attendance = RowBuffer::new(
        backend,
        ATTENDANCE_INSERT,
        ATTENDANCE_COLUMNS,
        "写入演示签到记录失败",
    );
    let mut reviews = RowBuffer::new(
        backend,
        REVIEW_INSERT,
        REVIEW_COLUMNS,
        "写入演示审核记录失败",
    );
    let mut counts = MeetingCounts::default();
    let mut rng = StdRng::seed_from_u64(MEETING_SEED);
    for roster in rosters {
        for m in plan_branch_meetings(&mut rng, today, t, roster) {
            next_id += 1;
            let name = |i: usize| roster.members.get(i).map_or("", |p| p.name.as_str());
            meetings.push(next_id);
            meetings.push(roster.unit_id);
            meetings.push(roster.branch_id);
            meetings.push(m.group);
            meetings.push(m.kind);
            meetings.push(format_date(m.held_on));
            meetings.push(m.start);
            meetings.push(m.duration);
            meetings.push(m.place);
            meetings.push(m.topic);
            meetings.push(name(m.presenter));
            meetings.push(name(m.recorder));
            meetings.push(m.minutes);
            meetings.push(m.status);
            meetings.push(m.eligible);
            meetings.push(m.present);
            meetings.push(i64::from(m.quorum_met));
            meetings.push(m.review_comment);
            meetings.push(m.submitted_at);
            meetings.push(m.reviewed_at);
            meetings.push(m.created_at);
            meetings.push(m.updated_at);
            for (i, state, reason) in m.attendance {
                let member_id = roster
                    .members
                    .get(i)
                    .and_then(|p| ids.get(&p.id_number))
                    .copied()
                    .context("演示数据内部错误：找不到参会党员")?;
                attendance.push(next_id);
                attendance.push(member_id);
                attendance.push(state);
                attendance.push(reason);
            }
            for (action, comment, by_reviewer, at) in m.trail {
                reviews.push(next_id);
                reviews.push(action);
                reviews.push(comment);
                reviews.push(if by_reviewer {
                    roster.reviewer.as_str()
                } else {
                    name(m.recorder)
                });
                reviews.push(at);
            }
            // Attendance and reviews refer to meetings: those go first.
            if meetings.full() || attendance.full() || reviews.full() {
                counts.meetings += meetings.flush(conn, backend).await?;
            }
            if attendance.full() {
                counts.attendance += attendance.flush(conn, backend).await?;
            }
            if reviews.full() {
                counts.reviews += reviews.flush(conn, backend).await?;
            }
        }
        bar.inc(1);
    }
    counts.meetings += meetings.flush(conn, backend).await?;
    counts.attendance += attendance.flush(conn, backend).await?;
    counts.reviews += reviews.flush(conn, backend).await?;
    if backend == Backend::Postgres {
        // The ids were given explicitly: move the identity past them.
        sqlx::query(
            "select setval(pg_get_serial_sequence('meeting', 'meeting_id'), \
             (select coalesce(max(meeting_id), 0) + 1 from meeting), false)",
        )
        .execute(&mut *conn)
        .await
        .context("更新组织生活记录编号失败")?;
    }
    bar.finish_and_clear();
    Ok(counts)
}

// ---------------------------------------------------------------------------
// Accounts and the command
// ---------------------------------------------------------------------------

fn demo_password() -> String {
    std::env::var("YAOSHI_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_PASSWORD.to_string())
}

const DEMO_USERNAMES: [&str; 5] = [
    "demo_committee",
    "demo_unit",
    "demo_branch",
    "demo_member",
    "demo_community",
];

fn grant(role: Role) -> NewGrant {
    NewGrant {
        role: role.as_str().to_string(),
        unit_id: None,
        org_id: None,
        member_id: None,
        community_id: None,
    }
}

/// Creates the admin (on an empty user table) and one account per role.
async fn create_accounts(
    state: &AppState,
    written: &Written,
    password: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut accounts = Vec::new();
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&state.db.pool)
        .await
        .context("读取用户数失败")?;
    if users == 0 {
        let generated = crate::bootstrap::ensure_initial_data(state).await?;
        let shown = match generated {
            Some(_) => "（见上方一次性密码，首次登录须修改）",
            None => "（YAOSHI_INITIAL_ADMIN_PASSWORD）",
        };
        accounts.push((
            Role::Committee.label().to_string(),
            "admin".to_string(),
            shown.to_string(),
        ));
    }

    let community: Option<(i64, String)> =
        sqlx::query_as("select community_id, name from community order by community_id limit 1")
            .fetch_optional(&state.db.pool)
            .await
            .context("读取社区失败")?;
    let targets = written.targets.as_ref();
    let member_id = targets.and_then(|t| t.member_id);

    let mut wanted: Vec<(Role, &str, String, NewGrant)> = vec![(
        Role::Committee,
        DEMO_USERNAMES[0],
        "工委演示账号".to_string(),
        grant(Role::Committee),
    )];
    if let Some(t) = targets {
        wanted.push((
            Role::Unit,
            DEMO_USERNAMES[1],
            format!("{}管理员", t.unit_name),
            NewGrant {
                unit_id: Some(t.unit_id),
                ..grant(Role::Unit)
            },
        ));
        wanted.push((
            Role::Branch,
            DEMO_USERNAMES[2],
            format!("{}{}管理员", t.unit_name, t.branch_name),
            NewGrant {
                org_id: Some(t.branch_id),
                ..grant(Role::Branch)
            },
        ));
        if let Some(id) = member_id {
            wanted.push((
                Role::Member,
                DEMO_USERNAMES[3],
                t.member_name.clone(),
                NewGrant {
                    member_id: Some(id),
                    ..grant(Role::Member)
                },
            ));
        }
    }
    if let Some((id, name)) = community {
        wanted.push((
            Role::Community,
            DEMO_USERNAMES[4],
            format!("{name}管理员"),
            NewGrant {
                community_id: Some(id),
                ..grant(Role::Community)
            },
        ));
    }

    let actor = Actor {
        user_id: None,
        name: "demo".into(),
        ip: String::new(),
    };
    for (role, username, display_name, g) in wanted {
        let label = role.label().to_string();
        let exists = store::find_by_username(state, username)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_some();
        if exists {
            accounts.push((
                label,
                username.to_string(),
                "（账号已存在，未修改）".to_string(),
            ));
            continue;
        }
        store::create_user(
            state,
            &actor,
            NewUser {
                username: username.to_string(),
                display_name,
                password: password.to_string(),
                must_change_password: false,
            },
            &[g],
        )
        .await
        .map_err(|e| anyhow::anyhow!("创建演示账号 {username} 失败：{e}"))?;
        accounts.push((label, username.to_string(), password.to_string()));
    }
    Ok(accounts)
}

fn print_summary(
    scale: Scale,
    written: &Written,
    accounts: &[(String, String, String)],
    secs: f64,
) {
    println!(
        "演示数据已生成（规模 {}，用时 {secs:.1} 秒）",
        scale.label()
    );
    println!("  单位（机关党组织） {:>8}", written.units);
    println!(
        "  党组织             {:>8}（其中党支部 {}）",
        written.orgs, written.branches
    );
    println!("  党员               {:>8}", written.members);
    println!("  社区               {:>8}", written.communities);
    println!(
        "  组织生活记录       {:>8}（近一年签到 {} 条，审核记录 {} 条）",
        written.meetings.meetings, written.meetings.attendance, written.meetings.reviews
    );
    println!();
    println!("示例账号：");
    println!("  {}{}密码", pad_to("角色", 20), pad_to("用户名", 18));
    for (role, username, password) in accounts {
        println!("  {}{}{password}", pad_to(role, 20), pad_to(username, 18));
    }
}

/// Pads to a display width; CJK characters take two terminal columns.
fn pad_to(s: &str, width: usize) -> String {
    let w: usize = s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Generates the demo data for `scale` into an empty database and the sample accounts.
pub async fn run(state: &AppState, scale: Scale) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let password = demo_password();
    for username in DEMO_USERNAMES {
        crate::auth::password::check_policy(&password, username)
            .map_err(|reason| anyhow::anyhow!("YAOSHI_DEMO_PASSWORD 不符合密码规则：{reason}"))?;
    }
    crate::bootstrap::seed_reference_data(state).await?;
    let written = write_all(state, scale, today()).await?;
    crate::guidance::demo::seed(state, today()).await?;
    crate::pledges::demo::seed(state, today()).await?;
    // The ledger's size: about 3,000,000 movements from city scale up (the benchmark's).
    let movements = match scale {
        Scale::Small => 20_000,
        Scale::City | Scale::Province => 3_000_000,
    };
    crate::volunteer::demo::seed(state, today(), movements).await?;
    // Work orders: 2,000,000 from city scale up (the benchmark's), as DESIGN.md's table says.
    let orders = match scale {
        Scale::Small => 20_000,
        Scale::City | Scale::Province => 2_000_000,
    };
    crate::hotline::demo::seed(state, orders).await?;
    let accounts = create_accounts(state, &written, &password).await?;
    let graded = crate::grading::demo::seed(state, today(), SEED).await?;
    println!(
        "分级定档：上年度考核已全部验收，本年度考核进行中；共 {} 份支部考核，{} 份已定档",
        graded.assessments, graded.accepted
    );
    // The planner's statistics for the data just written, before anyone reads it.
    state.db.analyze().await?;
    print_summary(scale, &written, &accounts, started.elapsed().as_secs_f64());
    Ok(DemoSummary {
        units: written.units,
        orgs: written.orgs,
        branches: written.branches,
        members: written.members,
        meetings: written.meetings.meetings,
        accounts,
    })
}

/// Today in Beijing time, as ID numbers and terms are read.
fn today() -> Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::now_utc().to_offset(offset).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::idnumber::{Gender, IdNumber};

    const TODAY: Date = date!(2026 - 11 - 26);

    fn rng() -> StdRng {
        StdRng::seed_from_u64(SEED)
    }

    /// Plans every unit of a scale.
    fn plan_all(scale: Scale) -> (Planner, Vec<UnitPlan>) {
        let mut p = Planner::new(scale, TODAY);
        let specs = p.units.clone();
        let plans = specs
            .iter()
            .map(|s| p.plan_unit(s).expect("plan"))
            .collect();
        (p, plans)
    }

    #[test]
    fn check_char_matches_known_numbers() {
        assert_eq!(id_check_char(b"11010519491231002"), 'X');
        assert_eq!(id_check_char(b"11010119900307447"), '7');
        assert_eq!(
            id_number("110105", date!(1949 - 12 - 31), 2),
            "11010519491231002X"
        );
    }

    #[test]
    fn generated_ids_are_valid_unique_and_match_the_person() {
        let mut r = rng();
        let mut used = HashSet::new();
        for _ in 0..5000 {
            let m =
                plan_member(&mut r, TODAY, false, 0, "full", "active", &mut used).expect("member");
            let id = IdNumber::parse(&m.id_number).expect("valid id");
            assert_eq!(id.birth_date(), m.birth);
            let gender = if m.gender == "男" {
                Gender::Male
            } else {
                Gender::Female
            };
            assert_eq!(id.gender(), gender, "{}", m.id_number);
            assert_eq!(id.suffix(), &m.id_number[14..]);
        }
        assert_eq!(used.len(), 5000);
    }

    #[test]
    fn crowded_day_still_yields_unique_ids_until_exhausted() {
        let mut r = rng();
        let mut used = HashSet::new();
        let day = date!(1980 - 01 - 01);
        for _ in 0..500 {
            assert!(unique_id_number(&mut r, "320102", day, true, &mut used).is_some());
        }
        assert!(unique_id_number(&mut r, "320102", day, true, &mut used).is_none());
        assert!(unique_id_number(&mut r, "320102", day, false, &mut used).is_some());
    }

    #[test]
    fn members_are_plausible() {
        let mut r = rng();
        let mut used = HashSet::new();
        for k in 0..3000 {
            let kind = if k % 10 == 0 { "probationary" } else { "full" };
            let m = plan_member(&mut r, TODAY, k % 2 == 0, 0, kind, "active", &mut used)
                .expect("member");
            let chars = m.name.chars().count();
            assert!((2..=3).contains(&chars), "{}", m.name);
            assert!(SURNAMES.contains(m.name.chars().next().unwrap_or(' ')));
            assert_eq!(
                m.initials.chars().count(),
                chars,
                "{} {}",
                m.name,
                m.initials
            );
            assert!((1962..=2000).contains(&m.birth.year()));
            assert!(m.joined >= add_years(m.birth, 18), "joined before 18");
            assert!(m.joined < TODAY);
            assert!(m.phone.is_empty() || (m.phone.len() == 11 && m.phone.starts_with('1')));
            if kind == "probationary" {
                assert_eq!(m.converted, None);
                assert!(m.joined > add_days(TODAY, -366));
            } else if let Some(c) = m.converted {
                assert_eq!(c, add_years(m.joined, 1));
                assert!(c < TODAY);
            }
        }
    }

    #[test]
    fn batches_stay_within_parameter_limits() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for columns in [MEMBER_COLUMNS, OFFICER_COLUMNS, COMMUNITY_COLUMNS] {
                let rows = batch_rows(backend, columns);
                assert!(rows >= 1 && rows * columns <= 30_000);
            }
            for columns in [MEETING_COLUMNS, ATTENDANCE_COLUMNS, REVIEW_COLUMNS] {
                let rows = meeting_batch_rows(backend, columns);
                assert!(rows >= 1 && rows * columns <= 30_000);
            }
        }
    }

    /// Every branch of a small city, org ids standing in as 1, 2, 3 …
    fn small_rosters() -> Vec<BranchRoster> {
        let (_, plans) = plan_all(Scale::Small);
        let mut next = 0i64;
        let mut rosters = Vec::new();
        for (u, plan) in plans.iter().enumerate() {
            let ids: Vec<i64> = plan
                .orgs
                .iter()
                .map(|_| {
                    next += 1;
                    next
                })
                .collect();
            rosters.extend(branch_rosters(plan, u as i64 + 1, &ids).expect("rosters"));
        }
        rosters
    }

    /// Now as the meeting tests see it: 20:00 on `TODAY`.
    fn now_on_today() -> i64 {
        beijing_ts(TODAY, 20 * 60)
    }

    fn plan_meetings(rosters: &[BranchRoster]) -> Vec<Vec<MeetingPlan>> {
        let mut r = StdRng::seed_from_u64(MEETING_SEED);
        rosters
            .iter()
            .map(|b| plan_branch_meetings(&mut r, TODAY, now_on_today(), b))
            .collect()
    }

    #[test]
    fn calendar_helpers() {
        assert_eq!(beijing_ts(date!(2024 - 01 - 01), 0), 1_704_038_400);
        assert_eq!(
            beijing_ts(date!(2024 - 01 - 01), 14 * 60 + 30),
            1_704_090_600
        );
        let feb = month_index(date!(2024 - 02 - 17));
        assert_eq!(month_start(feb), date!(2024 - 02 - 01));
        assert_eq!(month_end(feb), date!(2024 - 02 - 29));
        assert_eq!(
            month_start(month_index(date!(2024 - 12 - 31)) + 1),
            date!(2025 - 01 - 01)
        );
        let mut r = rng();
        for _ in 0..1000 {
            let (lo, hi) = (date!(2024 - 06 - 01), date!(2024 - 06 - 30));
            let d = working_day(&mut r, lo, hi);
            assert!((lo..=hi).contains(&d));
            assert!(!matches!(
                d.weekday(),
                time::Weekday::Saturday | time::Weekday::Sunday
            ));
        }
    }

    #[test]
    fn topics_fit_their_dates() {
        let mut r = rng();
        let lists = [
            THEME_DAY_TOPICS,
            COMMITTEE_TOPICS,
            GROUP_TOPICS,
            ASSEMBLY_TOPICS,
            LECTURE_TOPICS,
        ];
        for list in lists {
            for k in 0..70 {
                let day = add_days(date!(2021 - 01 - 15), k * 30);
                for _ in 0..20 {
                    let t = topic_for(&mut r, list, day);
                    assert!(t.from <= day && day <= t.until, "{} on {day}", t.text);
                }
            }
        }
    }

    #[test]
    fn meetings_follow_the_rules() {
        let rosters = small_rosters();
        assert_eq!(rosters.len(), 150);
        let all = plan_meetings(&rosters);
        assert_eq!(all, plan_meetings(&rosters), "same seed, same records");
        let t = now_on_today();
        let window = month_start(month_index(TODAY) - (MEETING_MONTHS - 1));
        let recent = add_years(TODAY, -1);
        let last_month = month_start(month_index(TODAY) - 1);
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        let mut statuses: HashMap<&str, usize> = HashMap::new();
        let mut total = 0usize;
        for (b, meetings) in rosters.iter().zip(&all) {
            assert!(meetings.windows(2).all(|w| w[0].held_on <= w[1].held_on));
            for m in meetings {
                total += 1;
                *kinds.entry(m.kind).or_default() += 1;
                *statuses.entry(m.status).or_default() += 1;
                assert!(window <= m.held_on && m.held_on <= TODAY, "{}", m.held_on);
                assert!(b.founded.is_none_or(|f| f <= m.held_on));
                assert!((60..=180).contains(&m.duration));
                assert!(START_TIMES.iter().any(|(s, _)| *s == m.start));
                assert!(!m.topic.is_empty() && !m.place.is_empty());
                assert!(m.presenter < b.members.len() && m.recorder < b.members.len());
                assert_eq!(m.group.is_some(), m.kind == K_GROUP);
                if let Some(g) = m.group {
                    assert!(b.groups.iter().any(|(id, _)| *id == g));
                }
                if m.kind == K_COMMITTEE {
                    assert!(b.officers.len() >= 3);
                    assert_eq!(m.eligible, b.officers.len() as i64);
                }
                if m.kind == K_ASSEMBLY {
                    let full = b
                        .members
                        .iter()
                        .filter(|p| p.full_since.is_some_and(|f| f <= m.held_on))
                        .count();
                    assert_eq!(m.eligible, full as i64);
                }
                assert!(0 < m.eligible && m.present <= m.eligible);
                match m.kind {
                    K_ASSEMBLY | K_COMMITTEE => {
                        assert_eq!(m.quorum_met, m.present * 2 >= m.eligible)
                    }
                    _ => assert!(m.quorum_met),
                }
                if m.held_on >= recent {
                    assert_eq!(m.attendance.len() as i64, m.eligible);
                    let present = m
                        .attendance
                        .iter()
                        .filter(|(_, s, _)| *s == "present")
                        .count();
                    assert_eq!(present as i64, m.present);
                    for (i, state, reason) in &m.attendance {
                        assert!(*i < b.members.len());
                        assert!(["present", "absent", "leave"].contains(state));
                        assert_eq!(*state == "leave", !reason.is_empty());
                    }
                    assert!(m
                        .attendance
                        .iter()
                        .any(|(i, s, _)| *i == m.presenter && *s == "present"));
                } else {
                    assert!(m.attendance.is_empty());
                }
                if m.held_on < last_month {
                    assert_eq!(m.status, S_ACCEPTED);
                    assert!(m.trail.is_empty());
                }
                assert_eq!(m.review_comment.is_empty(), m.status != S_RETURNED);
                assert!(beijing_ts(m.held_on, 0) <= m.created_at);
                assert!(m.created_at <= m.updated_at && m.updated_at <= t);
                match m.status {
                    S_DRAFT => assert!(m.submitted_at.is_none() && m.reviewed_at.is_none()),
                    S_SUBMITTED => assert!(m.submitted_at.is_some() && m.reviewed_at.is_none()),
                    _ => assert!(m.submitted_at <= m.reviewed_at && m.submitted_at.is_some()),
                }
                assert!(m.trail.windows(2).all(|w| w[0].3 <= w[1].3));
            }
        }
        // About 48 a year per branch, every kind present, some records still under review.
        let per_year = total as f64 / rosters.len() as f64 / 5.0;
        assert!((38.0..60.0).contains(&per_year), "{per_year} a year");
        for kind in [
            K_ASSEMBLY,
            K_COMMITTEE,
            K_GROUP,
            K_LECTURE,
            K_THEME_DAY,
            K_LIFE,
            K_REVIEW,
        ] {
            assert!(kinds.get(kind).copied().unwrap_or(0) > 0, "{kind}");
        }
        for status in [S_DRAFT, S_SUBMITTED, S_RETURNED] {
            let n = statuses.get(status).copied().unwrap_or(0);
            assert!(n > 0 && n * 100 < total, "{status} {n}");
        }
    }

    #[test]
    fn zh_numbers() {
        let cases = [
            (1, "一"),
            (9, "九"),
            (10, "十"),
            (11, "十一"),
            (20, "二十"),
            (21, "二十一"),
            (99, "九十九"),
            (100, "100"),
        ];
        for (n, s) in cases {
            assert_eq!(zh_number(n), s);
        }
    }

    #[test]
    fn branch_sizes_hit_the_total_and_have_outliers() {
        for (branches, members) in [(150, 3_000), (1_500, 30_000), (15_000, 300_000)] {
            let sizes = branch_sizes(&mut rng(), branches, members);
            assert_eq!(sizes.len(), branches);
            assert_eq!(sizes.iter().map(|&s| s as usize).sum::<usize>(), members);
            assert!(sizes.iter().all(|s| (3..=60).contains(s)));
            let weak = sizes.iter().filter(|&&s| s <= WEAK_MAX).count();
            let big = sizes.iter().filter(|&&s| s > 50).count();
            assert!(weak >= 1 && weak * 100 <= branches * 5, "weak {weak}");
            assert!(big >= 1 && big * 100 <= branches * 5, "big {big}");
        }
    }

    #[test]
    fn member_mix_keeps_weak_branches_weak_and_others_viable() {
        let mut r = rng();
        let (mut prob, mut all) = (0u32, 0u32);
        for size in (3..=60).cycle().take(5000) {
            let (full, p, gone) = member_mix(&mut r, size);
            assert_eq!(full + p + gone, size);
            if size <= WEAK_MAX {
                assert!(full < 3);
            } else {
                assert!(full >= 3);
            }
            prob += p;
            all += size;
        }
        let share = f64::from(prob) / f64::from(all);
        assert!((0.06..0.10).contains(&share), "{share}");
    }

    #[test]
    fn branches_per_unit_sums_and_varies() {
        let counts = branches_per_unit(&mut rng(), 120, 1_500);
        assert_eq!(counts.len(), 120);
        assert_eq!(counts.iter().sum::<usize>(), 1_500);
        assert!(counts.iter().all(|&c| c >= 1));
        assert!(counts.contains(&1));
        assert!(counts.iter().any(|&c| c >= 20));
    }

    #[test]
    fn terms_follow_the_intended_mix() {
        let mut r = rng();
        let (mut none, mut expired, mut due, mut n) = (0, 0, 0, 0);
        let soon = add_days(TODAY, 183);
        for _ in 0..20_000 {
            n += 1;
            match plan_term(&mut r, TODAY, 3) {
                None => none += 1,
                Some((start, end)) => {
                    assert_eq!(add_years(end, -3), start);
                    assert!(start <= TODAY);
                    if end < TODAY {
                        expired += 1;
                    } else if end <= soon {
                        due += 1;
                    }
                }
            }
        }
        let pct = |k: i32| f64::from(k) * 100.0 / f64::from(n);
        assert!((2.0..4.0).contains(&pct(none)), "none {}", pct(none));
        assert!(
            (7.0..9.0).contains(&pct(expired)),
            "expired {}",
            pct(expired)
        );
        assert!((4.0..6.0).contains(&pct(due)), "due {}", pct(due));
    }

    #[test]
    fn unit_names_are_unique_and_spread_over_categories() {
        for scale in [Scale::Small, Scale::City, Scale::Province] {
            let s = scale.sizes();
            let specs = unit_specs(s, &vec![1; s.units]);
            assert_eq!(specs.len(), s.units);
            let names: HashSet<&str> = specs.iter().map(|u| u.name.as_str()).collect();
            assert_eq!(names.len(), s.units, "{scale:?}");
            for (code, _) in UNIT_NAMES {
                let n = specs.iter().filter(|u| u.category == code).count();
                assert_eq!(n, s.units / 6, "{scale:?} {code}");
            }
        }
        let small = unit_specs(Scale::Small.sizes(), &[1; 12]);
        assert_eq!(small[0].name, "市纪委监委");
        assert_eq!(small[0].short_name, "纪委监委");
        assert_eq!(small[1].short_name, "市委办公室");
        let province = unit_specs(Scale::Province.sizes(), &[1; 1200]);
        assert_eq!(province[0].name, "临江市纪委监委");
        assert_eq!(province[0].short_name, "临江纪委监委");
        assert!(province.iter().any(|u| u.name == "团临江市委"));
        assert!(province.iter().any(|u| u.name == "工商银行金川市分行"));
    }

    #[test]
    fn extra_unit_names_are_distinct() {
        let names: HashSet<String> = (0..200).map(|k| extra_unit_name("economic", k)).collect();
        assert_eq!(names.len(), 200);
        let specs = city_unit_names(300);
        assert_eq!(
            specs.iter().map(|(n, _)| n).collect::<HashSet<_>>().len(),
            300
        );
    }

    #[test]
    fn communities_are_unique() {
        let c = communities(&mut rng(), 300);
        assert_eq!(c.len(), 300);
        assert_eq!(c.iter().map(|c| &c.name).collect::<HashSet<_>>().len(), 300);
        assert!(c
            .iter()
            .all(|c| c.name.ends_with("社区") && c.name.contains("街道")));
    }

    #[test]
    fn same_seed_same_city() {
        let (a_planner, a) = plan_all(Scale::Small);
        let (b_planner, b) = plan_all(Scale::Small);
        assert_eq!(a_planner.units, b_planner.units);
        assert_eq!(a_planner.communities, b_planner.communities);
        assert_eq!(a, b);
    }

    #[test]
    fn small_city_has_the_promised_shape() {
        let (p, plans) = plan_all(Scale::Small);
        assert_eq!(plans.len(), 12);
        let members: usize = plans.iter().map(|u| u.members.len()).sum();
        assert_eq!(members, 3_000);
        let branches: usize = plans
            .iter()
            .map(|u| u.orgs.iter().filter(|o| o.kind == "branch").count())
            .sum();
        assert_eq!(branches, 150);
        assert_eq!(p.used_ids.len(), 3_000);

        let mut full_counts = Vec::new();
        for u in &plans {
            let names: HashSet<&str> = u.orgs.iter().map(|o| o.name.as_str()).collect();
            assert_eq!(names.len(), u.orgs.len(), "org names unique within a unit");
            for (i, o) in u.orgs.iter().enumerate() {
                let parent_kind = o.parent.map(|p| {
                    assert!(p < i, "parent before child");
                    u.orgs[p].kind
                });
                let ok = matches!(
                    (o.kind, parent_kind),
                    ("committee_org", None)
                        | ("general_branch", None | Some("committee_org"))
                        | (
                            "branch",
                            None | Some("committee_org") | Some("general_branch")
                        )
                        | ("group", Some("branch"))
                );
                assert!(ok, "{} under {:?}", o.kind, parent_kind);
            }
            for m in &u.members {
                assert_eq!(u.orgs[m.branch].kind, "branch");
                if let Some(g) = m.group {
                    assert_eq!(u.orgs[g].kind, "group");
                    assert_eq!(u.orgs[g].parent, Some(m.branch));
                }
            }
            for (b, o) in u
                .orgs
                .iter()
                .enumerate()
                .filter(|(_, o)| o.kind == "branch")
            {
                let own: Vec<&MemberPlan> = u.members.iter().filter(|m| m.branch == b).collect();
                let full = own.iter().filter(|m| m.active_full()).count();
                full_counts.push(full);
                let posts: Vec<(usize, &str)> = u
                    .officers
                    .iter()
                    .filter(|(org, _, _)| *org == b)
                    .map(|(_, m, p)| (*m, *p))
                    .collect();
                assert_eq!(posts.len(), if full >= 7 { 3 } else { 1 }, "{}", o.name);
                assert_eq!(posts[0].1, POST_SECRETARY);
                let distinct: HashSet<usize> = posts.iter().map(|(m, _)| *m).collect();
                assert_eq!(distinct.len(), posts.len());
                assert!(posts
                    .iter()
                    .all(|(m, _)| u.members[*m].active_full() && u.members[*m].branch == b));
            }
            assert_eq!(u.orgs[u.demo_branch].kind, "branch");
            assert_eq!(u.members[u.demo_member].branch, u.demo_branch);
        }
        assert!(full_counts.iter().any(|&f| f < 3));
        assert!(plans
            .iter()
            .flat_map(|u| &u.orgs)
            .any(|o| o.kind == "group"));
        assert!(plans
            .iter()
            .flat_map(|u| &u.orgs)
            .any(|o| o.kind == "committee_org"));
        let heads = plans
            .iter()
            .flat_map(|u| &u.members)
            .filter(|m| m.division_head)
            .count();
        assert!((240..=480).contains(&heads), "division heads {heads}");
        let prob = plans
            .iter()
            .flat_map(|u| &u.members)
            .filter(|m| m.kind == "probationary")
            .count();
        assert!((180..=330).contains(&prob), "probationary {prob}");
    }

    #[test]
    fn demo_password_default_meets_policy() {
        for u in DEMO_USERNAMES {
            assert!(crate::auth::password::check_policy(DEFAULT_PASSWORD, u).is_ok());
        }
    }
}
