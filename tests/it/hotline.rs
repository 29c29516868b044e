//! 12345热线: the committee imports a centre's export (csv under a title line, xlsx, a
//! mapping given once and saved per source), imports are idempotent by order number and
//! all-or-nothing with row errors in Chinese; the rates per unit, category and city over a
//! year, quarter, month or range equal the orders counted by hand, with the orders behind
//! each figure; the kept aggregates equal a full recomputation; a unit admin sees its own
//! unit and its category without other units' names; the indicators carry the orders.

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, testid_text, City, TestApp};

const HEADER: &str = "工单号,来电时间,责任单位,办结时限,办结时间,满意度,是否解决,重办次数,诉求内容";

/// The March export of the centre: a title line, the header, six orders of units A and B.
fn march_csv() -> String {
    [
        "2022年3月12345热线工单导出",
        HEADER,
        "GD001,2022-03-01 09:00,市测试局,2022-03-05,2022-03-04 10:00,满意,已解决,0,路灯不亮",
        "GD002,2022-03-02 09:00,市测试局,2022-03-06 12:00,2022-03-08 10:00,不满意,未解决,1,\"道路积水,影响通行\"",
        "GD003,2022/3/3,市测试局,2022-03-10,2022-03-09,基本满意,已解决,0,噪声扰民",
        "GD004,2022-03-10,市测试局,2022-03-20,,,,,占道经营",
        "GD005,2022-03-05,市对照局,2022-03-12,2022-03-11,未接通,,0,供暖",
        "GD006,2022-03-06,市对照局 ,2022-04-02,2022-04-01,满意,已解决,,咨询",
    ]
    .join("\n")
}

async fn upload(
    app: &TestApp,
    c: &Client,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
    source: &str,
    mapping: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_string()))
        .text("source", source.to_string());
    if let Some(m) = mapping {
        form = form.text("mapping", m.to_string());
    }
    let r = c
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn import_csv(app: &TestApp, c: &Client, csv: &str, source: &str) -> (StatusCode, Value) {
    upload(
        app,
        c,
        "/api/v1/hotline/imports",
        "工单.csv",
        csv.as_bytes().to_vec(),
        source,
        None,
    )
    .await
}

async fn rates(app: &TestApp, c: &Client, q: &str) -> Value {
    let (s, v) = app.get(c, &format!("/api/v1/hotline/rates?{q}")).await;
    assert_eq!(s, StatusCode::OK, "{q}: {v}");
    v
}

fn unit(r: &Value, id: i64) -> &Value {
    r["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["unit_id"] == id)
        .expect("unit")
}

async fn order_nos(app: &TestApp, c: &Client, q: &str) -> Vec<String> {
    let (s, v) = app.get(c, &format!("/api/v1/hotline/orders?{q}")).await;
    assert_eq!(s, StatusCode::OK, "{q}: {v}");
    let mut nos: Vec<String> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["order_no"].as_str().expect("no").to_string())
        .collect();
    nos.sort();
    assert_eq!(v["total"], nos.len() as i64, "{q}");
    nos
}

async fn assert_aggregates_match(app: &TestApp) {
    let (kept, full) = yaoshi::hotline::store::kept_and_recomputed(&app.state)
        .await
        .expect("aggregates");
    assert!(!full.is_empty());
    assert_eq!(
        kept, full,
        "kept monthly aggregates differ from a recomputation"
    );
}

async fn setup() -> (TestApp, Client, City) {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    (app, admin, city)
}

#[tokio::test]
async fn an_export_imports_once_and_its_rates_equal_the_orders_counted_by_hand() {
    let (app, admin, city) = setup().await;
    let (a, b) = (city.unit_a, city.unit_b);
    // The preview guesses the mapping from the centre's headers under the title line.
    let (s, p) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports/preview",
        "工单.csv",
        march_csv().into_bytes(),
        "市12345热线中心",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["total_rows"], 6);
    assert_eq!(p["mapping"]["order_no"], "工单号");
    assert_eq!(p["mapping"]["deadline"], "办结时限");
    assert_eq!(p["mapping"]["title"], "诉求内容");
    assert_eq!(p["problems"], json!([]));
    assert_eq!(p["rows"][1][8], "道路积水,影响通行");
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_order").await,
        0
    );

    let (s, v) = import_csv(&app, &admin, &march_csv(), "市12345热线中心").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["outcome"].as_str(),
            v["created"].as_i64(),
            v["updated"].as_i64()
        ),
        (Some("imported"), Some(6), Some(0))
    );
    assert_aggregates_match(&app).await;

    // The year: A has 4 due, 2 on time (GD002 late, GD004 open); 3 reached, 2 satisfied;
    // 3 said whether resolved, 2 resolved; 1 reopened. B: 2 due, both on time; GD005 not
    // reached, GD006 satisfied.
    let r = rates(&app, &admin, "year=2022").await;
    let ua = &unit(&r, a)["counts"];
    assert_eq!(
        [
            &ua["due"],
            &ua["on_time"],
            &ua["closed"],
            &ua["reached"],
            &ua["satisfied"],
            &ua["resolved_known"],
            &ua["resolved"],
            &ua["reopened"]
        ],
        [
            &json!(4),
            &json!(2),
            &json!(3),
            &json!(3),
            &json!(2),
            &json!(3),
            &json!(2),
            &json!(1)
        ]
    );
    let ub = &unit(&r, b)["counts"];
    assert_eq!(
        (&ub["due"], &ub["on_time"], &ub["reached"], &ub["satisfied"]),
        (&json!(2), &json!(2), &json!(1), &json!(1))
    );
    let t = &r["total"];
    assert_eq!(t["name"], "全市");
    assert_eq!(
        (&t["counts"]["due"], &t["counts"]["on_time"]),
        (&json!(6), &json!(4))
    );
    assert_eq!(
        (&t["counts"]["reached"], &t["counts"]["satisfied"]),
        (&json!(4), &json!(3))
    );
    assert_eq!(r["categories"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["categories"][0]["counts"]["due"], 6);
    assert_eq!(r["trend"].as_array().map(Vec::len), Some(12));
    assert_eq!(r["trend"][2]["counts"]["due"], 5);
    assert_eq!(r["trend"][3]["counts"]["due"], 1);
    assert_eq!(r["trend"][3]["counts"]["closed"], 1);
    // A unit is at the bottom only with 5 orders due: none here.
    assert_eq!(r["bottom"], json!([]));
    // The first quarter, a month and a range read the same aggregates.
    let q1 = rates(&app, &admin, "year=2022&period=q1").await;
    assert_eq!(
        (
            &q1["total"]["counts"]["due"],
            &q1["total"]["counts"]["on_time"]
        ),
        (&json!(5), &json!(3))
    );
    assert_eq!(q1["label"], "2022年第一季度");
    let apr = rates(&app, &admin, "year=2022&period=m4").await;
    assert_eq!(
        (
            &apr["total"]["counts"]["due"],
            &apr["total"]["counts"]["satisfied"]
        ),
        (&json!(1), &json!(1))
    );
    let range = rates(&app, &admin, "from=2022-02&to=2022-04").await;
    assert_eq!(range["total"]["counts"]["due"], 6);
    assert_eq!(range["trend"].as_array().map(Vec::len), Some(3));

    // The orders behind the figures.
    assert_eq!(
        order_nos(&app, &admin, &format!("year=2022&unit_id={a}&outcome=late")).await,
        ["GD002", "GD004"]
    );
    assert_eq!(
        order_nos(&app, &admin, &format!("year=2022&unit_id={a}&basis=due")).await,
        ["GD001", "GD002", "GD003", "GD004"]
    );
    assert_eq!(
        order_nos(&app, &admin, "year=2022&outcome=reached").await,
        ["GD001", "GD002", "GD003", "GD006"]
    );
    assert_eq!(
        order_nos(&app, &admin, "year=2022&outcome=reopened").await,
        ["GD002"]
    );
    assert_eq!(
        order_nos(&app, &admin, "year=2022&outcome=unreached").await,
        ["GD005"]
    );
    assert_eq!(order_nos(&app, &admin, "year=2022&q=积水").await, ["GD002"]);
    assert_eq!(
        order_nos(&app, &admin, "year=2022&period=m4&basis=closed").await,
        ["GD006"]
    );
    let (_, page) = app
        .get(
            &admin,
            "/api/v1/hotline/orders?year=2022&per_page=2&sort=order_no&dir=asc",
        )
        .await;
    assert_eq!(page["total"], 6);
    assert_eq!(page["items"][0]["order_no"], "GD001");
    assert_eq!(page["items"][1]["order_no"], "GD002");
    let (s, v) = app
        .get(&admin, "/api/v1/hotline/orders?outcome=slow&sort=x")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["outcome"]
            .as_str()
            .unwrap_or("")
            .contains("slow"),
        "{v}"
    );
    assert!(v["error"]["fields"]["sort"].is_string(), "{v}");

    // The same file again changes nothing; one order closed since is updated, and the rates move.
    let (s, v) = import_csv(&app, &admin, &march_csv(), "市12345热线中心").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["created"].as_i64(), v["unchanged"].as_i64()),
        (Some(0), Some(6))
    );
    let closed = march_csv().replace(
        "GD004,2022-03-10,市测试局,2022-03-20,,,,,占道经营",
        "GD004,2022-03-10,市测试局,2022-03-20,2022-03-18 16:00,满意,已解决,0,占道经营",
    );
    let (s, v) = import_csv(&app, &admin, &closed, "市12345热线中心").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["created"].as_i64(),
            v["updated"].as_i64(),
            v["unchanged"].as_i64()
        ),
        (Some(0), Some(1), Some(5))
    );
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_order").await,
        6
    );
    let r = rates(&app, &admin, "year=2022").await;
    let ua = &unit(&r, a)["counts"];
    assert_eq!(
        (&ua["on_time"], &ua["reached"], &ua["satisfied"]),
        (&json!(3), &json!(4), &json!(3))
    );
    assert_aggregates_match(&app).await;
    // An order moved to another unit leaves the first unit's months.
    let moved = closed.replace("GD003,2022/3/3,市测试局", "GD003,2022/3/3,市对照局");
    let (s, v) = import_csv(&app, &admin, &moved, "市12345热线中心").await;
    assert_eq!((s, v["updated"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    let r = rates(&app, &admin, "year=2022").await;
    assert_eq!(unit(&r, a)["counts"]["due"], 3);
    assert_eq!(unit(&r, b)["counts"]["due"], 3);
    assert_aggregates_match(&app).await;

    // Another source writes other headers: an xlsx in the template's own words imports with
    // the mapping guessed; a file whose headers are unknown needs a mapping, given once.
    let labels = [
        "工单编号",
        "受理时间",
        "承办单位",
        "办理时限",
        "办结时间",
        "回访结果",
        "是否解决",
        "重办次数",
        "诉求标题",
    ];
    let xlsx = yaoshi::xlsx::write_sheet(
        "工单",
        &labels,
        &[vec![
            "QX-01".into(),
            "2022-05-06 08:00".into(),
            "市测试局".into(),
            "2022-05-09 08:00".into(),
            "2022-05-10 08:00".into(),
            "基本满意".into(),
            "部分解决".into(),
            "是".into(),
            "井盖缺失".into(),
        ]],
    )
    .expect("xlsx");
    let (s, v) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports",
        "区中心.xlsx",
        xlsx,
        "区热线分中心",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], 1);
    assert_eq!(
        order_nos(&app, &admin, "year=2022&period=m5&outcome=late").await,
        ["QX-01"]
    );
    let odd = "流水号,时间,单位,时限,结束\nZ1,2022-06-01,市测试局,2022-06-03,2022-06-02\n";
    let (s, v) = import_csv(&app, &admin, odd, "街道转办").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("必填字段“工单编号”没有对应的列"),
        "{v}"
    );
    let mapping = r#"{"order_no":"流水号","received_at":"时间","unit":"单位","deadline":"时限","closed_at":"结束"}"#;
    let (s, v) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports",
        "街道.csv",
        odd.as_bytes().to_vec(),
        "街道转办",
        Some(mapping),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], 1);
    // Saved: the next file of that source needs no mapping.
    let (s, v) = import_csv(&app, &admin, odd, "街道转办").await;
    assert_eq!(
        (s, v["unchanged"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{v}"
    );
    let (_, sources) = app.get(&admin, "/api/v1/hotline/sources").await;
    let names: Vec<&str> = sources
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "{sources}");
    let (_, imports) = app.get(&admin, "/api/v1/hotline/imports").await;
    assert_eq!(imports["total"], 7);
    assert_eq!(imports["items"][0]["source_name"], "街道转办");
    assert_aggregates_match(&app).await;

    // Every figure's count is its list's length: the lists and the aggregates agree.
    let r = rates(&app, &admin, "year=2022").await;
    let c = &r["total"]["counts"];
    for (q, want) in [
        ("basis=received", c["received"].as_i64()),
        ("basis=due", c["due"].as_i64()),
        ("outcome=on_time", c["on_time"].as_i64()),
        (
            "outcome=late",
            c["due"]
                .as_i64()
                .zip(c["on_time"].as_i64())
                .map(|(d, o)| d - o),
        ),
        ("basis=closed", c["closed"].as_i64()),
        ("outcome=reached", c["reached"].as_i64()),
        ("outcome=satisfied", c["satisfied"].as_i64()),
        ("outcome=reopened", c["reopened"].as_i64()),
    ] {
        let (_, v) = app
            .get(&admin, &format!("/api/v1/hotline/orders?year=2022&{q}"))
            .await;
        assert_eq!(v["total"].as_i64(), want, "{q}");
    }

    // The indicators: the unit's on-time rate of 2022 with the orders behind it, those
    // against it first; the city's satisfaction rate.
    let (s, v) = app
        .get(
            &admin,
            &format!("/api/v1/indicators/hotline.on_time_rate?subject=unit:{a}&year=2022"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["reading"];
    let due = rates(&app, &admin, "year=2022").await;
    let ua = &unit(&due, a)["counts"];
    assert_eq!((&r["value"], &r["of"]), (&ua["on_time"], &ua["due"]), "{v}");
    assert_eq!(r["records"][0]["counts"], false);
    assert!(
        r["records"][0]["label"]
            .as_str()
            .unwrap_or("")
            .starts_with("GD002"),
        "{v}"
    );
    assert_eq!(
        r["records"].as_array().map(Vec::len),
        ua["due"].as_u64().map(|n| n as usize)
    );
    let (s, v) = app
        .get(
            &admin,
            "/api/v1/indicators/hotline.satisfaction_rate?subject=city&year=2022&period=q1",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["reading"]["of"], 4);
    let (s, _) = app
        .get(
            &admin,
            "/api/v1/indicators/hotline.on_time_rate?subject=branch:1&year=2022",
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The pages: the rates with links to the orders, the orders, the exports.
    let html = admin
        .get(app.url("/hotline?year=2022"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert_eq!(
        testid_text(&html, "total-on-time").as_deref(),
        Some("75.0%"),
        "6 of 8 due"
    );
    assert!(
        html.contains(&format!("unit_id={a}&#38;basis=due"))
            || html.contains(&format!("unit_id={a}&amp;basis=due")),
        "a unit's figure links to its orders"
    );
    let html = admin
        .get(app.url(&format!(
            "/hotline/orders?year=2022&unit_id={a}&outcome=late"
        )))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("GD002") && !html.contains("GD001"),
        "late orders only"
    );
    for path in [
        "/hotline/export?year=2022",
        "/hotline/orders/export?year=2022",
        "/hotline/import/export",
        "/hotline/import/template",
    ] {
        let r = admin.get(app.url(path)).send().await.expect("export");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let bytes = r.bytes().await.expect("bytes");
        assert!(bytes.starts_with(b"PK"), "{path}");
    }
    let r = admin
        .get(app.url("/hotline/orders/export?year=2022"))
        .send()
        .await
        .expect("export");
    let range = crate::common::xlsx_range(&r.bytes().await.expect("bytes"));
    assert_eq!(range.height(), 1 + 8, "a header and every order of 2022");
}

#[tokio::test]
async fn bad_files_and_rows_are_refused_in_chinese_and_nothing_is_written() {
    let (app, admin, _city) = setup().await;
    let src = "市12345热线中心";
    let rows = |lines: &[&str]| format!("{HEADER}\n{}", lines.join("\n"));
    // Every bad row named by row and column, and nothing written.
    let csv = rows(&[
        "GD1,2022-03-01,市不存在局,2022-03-05,2022-03-04,满意,已解决,0,a",
        "GD2,昨天下午,市测试局,2022-03-05,2022-03-04,满意,已解决,0,b",
        "GD3,2022-03-05 10:00,市测试局,2022-03-09,2022-03-04,满意,已解决,0,c",
        "GD4,2022-03-01,市测试局,2022-03-05,2022-03-04,还行,大概,-1,d",
        "GD3,2022-03-01,市测试局,2022-03-05,2022-03-04,满意,已解决,0,e",
        "GD6,2022-03-01,市测试局,2022-03-05,,满意,,0,f",
        ",2022-03-01,市测试局,2022-03-05,,,,,g",
    ]);
    let (s, v) = import_csv(&app, &admin, &csv, src).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["outcome"], "rejected");
    assert_eq!(v["rows"], 7);
    let errors: Vec<(i64, String, String)> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().expect("row"),
                e["column"].as_str().expect("column").to_string(),
                e["message"].as_str().expect("message").to_string(),
            )
        })
        .collect();
    let has = |row: i64, col: &str, text: &str| {
        assert!(
            errors
                .iter()
                .any(|(r, c, m)| *r == row && c == col && m.contains(text)),
            "row {row} {col} {text}: {errors:?}"
        )
    };
    has(2, "责任单位", "承办单位“市不存在局”不在单位名册中");
    has(3, "来电时间", "时间“昨天下午”无法识别");
    has(4, "办结时间", "办结时间早于受理时间");
    has(5, "满意度", "回访结果“还行”无法识别");
    has(5, "是否解决", "是否解决“大概”无法识别");
    has(5, "重办次数", "重办次数“-1”");
    has(6, "工单号", "与第 4 行重复");
    has(7, "满意度", "不应有回访结果");
    has(8, "工单号", "工单编号不能为空");
    assert_eq!(v["total_errors"], errors.len() as i64);
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_order").await,
        0
    );
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_import").await,
        0
    );
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_month").await,
        0
    );
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_source").await,
        0
    );

    // The unknown unit given as an alias imports; the alias is listed and refuses a second unit.
    let city_a: i64 = app
        .sql_scalar("select unit_id from unit where name = '市测试局'")
        .await;
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/hotline/aliases",
            json!({"alias": "市不存在局", "unit_id": city_a}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/hotline/aliases",
            json!({"alias": "市不存在局", "unit_id": city_a}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["alias"]
            .as_str()
            .unwrap_or("")
            .contains("已对应到市测试局"),
        "{v}"
    );
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/hotline/aliases",
            json!({"alias": "", "unit_id": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["unit_id"].is_string() && v["error"]["fields"]["alias"].is_string(),
        "{v}"
    );
    let good = rows(&["GD1,2022-03-01,市不存在局,2022-03-05,2022-03-04,满意,已解决,0,a"]);
    let (s, v) = import_csv(&app, &admin, &good, src).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, aliases) = app.get(&admin, "/api/v1/hotline/aliases?q=不存在").await;
    assert_eq!(aliases[0]["unit_name"], "市测试局");

    // Files that are not exports, or are hostile, answered with the reason.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "工单.csv",
            b"a,b,c\n1,2,3\n".to_vec(),
            "字段“工单编号”对应的列“工单号”在文件的表头中找不到",
        ),
        (
            "工单.xls",
            b"\xD0\xCF\x11\xE0rest".to_vec(),
            "只支持 .xlsx 或 .csv",
        ),
        (
            "工单.csv",
            b"\x00\x01\x02binary".to_vec(),
            "不是文本格式的 CSV",
        ),
        (
            "工单.csv",
            [b"\xff\xfe\xff".as_slice(), HEADER.as_bytes()].concat(),
            "无法识别文件的文字编码",
        ),
        (
            "工单.csv",
            vec![b'\n'; 200_100],
            "超过一次导入的上限 200000 行",
        ),
        (
            "工单.csv",
            HEADER.as_bytes().to_vec(),
            "表头行以下没有工单数据",
        ),
        ("工单.csv", Vec::new(), "请选择要上传的工单文件"),
        (
            "工单.xlsx",
            yaoshi::xlsx::samples::huge_shared_string(64 << 20).expect("xlsx"),
            "共享字符串表 xl/sharedStrings.xml 解压后有 64.0 MB，超过上限 24.0 MB",
        ),
        (
            "工单.xlsx",
            yaoshi::xlsx::samples::sparse(false).expect("xlsx"),
            "超过导入上限 100000 行",
        ),
        ("工单.xlsx", b"PK\x03\x04broken".to_vec(), "Excel"),
    ];
    for (name, bytes, want) in cases {
        let (s, v) = upload(
            &app,
            &admin,
            "/api/v1/hotline/imports",
            name,
            bytes,
            src,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name} {want}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or("");
        assert!(msg.contains(want), "{name}: want {want}, got {v}");
    }
    // A mapping missing a required field, or naming a column the file lacks.
    let (s, v) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports",
        "工单.csv",
        good.clone().into_bytes(),
        src,
        Some(r#"{"order_no":"工单号","received_at":"来电时间","unit":"责任单位","closed_at":"完成"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("必填字段“办理时限”没有对应的列")
            && msg.contains("“完成”在文件的表头中找不到"),
        "{v}"
    );
    let (s, v) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports",
        "工单.csv",
        good.clone().into_bytes(),
        src,
        Some(r#"{"colour":"x"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["mapping"]
            .as_str()
            .unwrap_or("")
            .contains("未知字段"),
        "{v}"
    );
    let (s, v) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports",
        "工单.csv",
        good.into_bytes(),
        " ",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["source"].is_string(), "{v}");
    // A GBK export reads as its text.
    let text = rows(&["GBK1,2022-03-01,市测试局,2022-03-05,2022-03-04,满意,已解决,0,噪声"]);
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let (s, v) = upload(
        &app,
        &admin,
        "/api/v1/hotline/imports",
        "gbk.csv",
        gbk.into_owned(),
        src,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        app.sql_scalar("select count(*) from hotline_order").await,
        2
    );
    assert_aggregates_match(&app).await;

    // The page shows the row errors and keeps them in a report to download.
    let bad = rows(&["GD9,2022-03-01,市测试局,2022-02-05,,,,,x"]);
    let form = Form::new()
        .part("file", Part::bytes(bad.into_bytes()).file_name("工单.csv"))
        .text("source", src);
    let r = admin
        .post(app.url("/hotline/import"))
        .multipart(form)
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("html");
    assert!(
        html.contains("第 2 行") && html.contains("办理时限早于受理时间"),
        "{html}"
    );
    assert!(html.contains("下载错误报告"));
    // The preview fragment names what is wrong with the file too.
    let form = Form::new()
        .part(
            "file",
            Part::bytes(b"x,y\n1,2\n".to_vec()).file_name("a.csv"),
        )
        .text("source", src);
    let r = admin
        .post(app.url("/hotline/import/preview"))
        .multipart(form)
        .send()
        .await
        .expect("page");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("mapping-problem")
            && html.contains("在文件的表头中找不到")
            && html.contains("data-testid=\"map-order_no\""),
        "{html}"
    );
}

#[tokio::test]
async fn a_unit_admin_sees_its_unit_and_its_category_without_other_names() {
    let (app, admin, city) = setup().await;
    let (s, v) = import_csv(&app, &admin, &march_csv(), "市12345热线中心").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let unit = app
        .user_with(
            &admin,
            "hotline_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let r = rates(&app, &unit, "year=2022").await;
    assert_eq!(r["total"]["name"], "本单位");
    assert_eq!(r["total"]["counts"]["due"], 4);
    assert_eq!(r["units"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["bottom"], json!([]));
    let d = &r["distribution"][0];
    assert_eq!(
        d["category"]["counts"]["due"], 6,
        "the whole category's figures"
    );
    let entries = d["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    let named: Vec<&Value> = entries
        .iter()
        .filter(|e| !e["unit_name"].is_null())
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0]["unit_name"], "市测试局");
    assert_eq!(named[0]["place"], 2, "50% is below the other unit's 100%");
    // Its own orders only; another unit's are not found.
    assert_eq!(
        order_nos(&app, &unit, "year=2022").await,
        ["GD001", "GD002", "GD003", "GD004"]
    );
    let (s, _) = app
        .get(
            &unit,
            &format!("/api/v1/hotline/orders?year=2022&unit_id={}", city.unit_b),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(
            &unit,
            &format!(
                "/api/v1/indicators/hotline.on_time_rate?subject=unit:{}&year=2022",
                city.unit_b
            ),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(
            &unit,
            "/api/v1/indicators/hotline.on_time_rate?subject=city&year=2022",
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let html = unit
        .get(app.url("/hotline?year=2022"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("own-place") && !html.contains("市对照局"),
        "no other unit named"
    );
    // Imports are the committee's.
    let (s, _) = import_csv(&app, &unit, &march_csv(), "市12345热线中心").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let member = app
        .user_with(
            &admin,
            "hotline_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    let (s, _) = app.get(&member, "/api/v1/hotline/rates").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
