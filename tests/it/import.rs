use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{city, id_number, nth_id, testid_text, TestApp};

fn sheet(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    yaoshi::xlsx::write_sheet("Sheet1", headers, rows).expect("xlsx")
}

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    let r = c
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

const H: [&str; 9] = [
    "姓名",
    "身份证号",
    "党员类别",
    "入党日期",
    "转正日期",
    "手机号",
    "机关党组织",
    "党支部",
    "党小组",
];

fn row(
    name: &str,
    id: &str,
    kind: &str,
    joined: &str,
    converted: &str,
    branch: &str,
    group: &str,
) -> Vec<String> {
    [
        name,
        id,
        kind,
        joined,
        converted,
        "138 0013 8000",
        "市测试局",
        branch,
        group,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test]
async fn member_import_is_all_or_nothing_and_idempotent() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    city(&app, &c).await;
    let lower_x = id_number("11010519491231002").to_lowercase();
    let full_width: String = nth_id(20)
        .chars()
        .map(|ch| {
            if ch.is_ascii_digit() {
                char::from_u32(ch as u32 - 0x30 + 0xFF10).unwrap_or(ch)
            } else {
                ch
            }
        })
        .collect();
    let good = vec![
        row(
            "赵一",
            &lower_x,
            "正式",
            "1975年7月1日",
            "1976.7.1",
            "办公室党支部",
            "第一党小组",
        ),
        row(
            " 钱二 ",
            &full_width,
            "正式党员",
            "44260",
            "2022-03-05",
            "办公室党支部",
            "",
        ),
        row(
            "孙三",
            &nth_id(21),
            "预备",
            "2025/7/1",
            "",
            "业务处党支部",
            "",
        ),
    ];
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "党员.xlsx",
        sheet(&H, &good),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"outcome": "imported", "created": 3, "updated": 0, "unchanged": 0})
    );
    // The template and the export, from the API, are workbooks.
    let tpl = c
        .get(app.url("/api/v1/import/template/members"))
        .send()
        .await
        .expect("template")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(
        yaoshi::xlsx::read_first_sheet(&tpl).expect("xlsx")[0][0],
        "姓名"
    );
    let exported = c
        .get(app.url("/api/v1/members/export?q=钱二"))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let rows = yaoshi::xlsx::read_first_sheet(&exported).expect("xlsx");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], "钱二");
    let (_, l) = app.get(&c, "/api/v1/members?q=钱二").await;
    assert_eq!(l["items"][0]["joined_on"], "2021-03-05");
    assert_eq!(l["items"][0]["phone"], "138****8000");
    // The same file again changes nothing.
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "党员.xlsx",
        sheet(&H, &good),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["unchanged"], 3);
    assert_eq!(v["created"], 0);
    // A changed row updates; a changed branch is recorded as a transfer.
    let mut changed = good.clone();
    changed[2][7] = "办公室党支部".into();
    let (_, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "党员.xlsx",
        sheet(&H, &changed),
    )
    .await;
    assert_eq!(v["updated"], 1, "{v}");
    assert_eq!(
        app.sql_scalar("select count(*) from member_transfer").await,
        1
    );
    let members = app.sql_scalar("select count(*) from member").await;
    // One bad row rejects the whole file, with every problem named.
    let bad = vec![
        row(
            "周四",
            &nth_id(30),
            "正式",
            "2000-01-01",
            "2001-01-01",
            "办公室党支部",
            "",
        ),
        row(
            "吴五",
            "110105194912310021",
            "正式",
            "2000-01-01",
            "",
            "办公室党支部",
            "",
        ),
        row(
            "郑六",
            &nth_id(30),
            "正式",
            "2000-01-01",
            "",
            "办公室党支部",
            "",
        ),
        row(
            "王七",
            &nth_id(31),
            "正式",
            "2000-01-01",
            "",
            "不存在党支部",
            "",
        ),
        row(
            "冯八",
            &nth_id(32),
            "候补",
            "2000-13-01",
            "",
            "办公室党支部",
            "无此小组",
        ),
    ];
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "党员.xlsx",
        sheet(&H, &bad),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["outcome"], "rejected");
    let errors = v["errors"].as_array().expect("errors");
    let has = |row: u64, col: &str, text: &str| {
        errors.iter().any(|e| {
            e["row"] == row
                && e["column"] == col
                && e["message"].as_str().unwrap_or("").contains(text)
        })
    };
    assert!(has(3, "身份证号", "校验位"), "{v}");
    assert!(has(4, "身份证号", "与第2行的身份证号重复"), "{v}");
    assert!(has(5, "党支部", "找不到"), "{v}");
    assert!(has(6, "党员类别", "正式党员"), "{v}");
    assert!(has(6, "入党日期", "无法识别"), "{v}");
    assert!(has(6, "党小组", "无此小组"), "{v}");
    assert_eq!(
        app.sql_scalar("select count(*) from member").await,
        members,
        "nothing written"
    );
}

#[tokio::test]
async fn bad_files_are_refused_before_parsing() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let (s, v) = upload(&app, &c, "/api/v1/import/members", "a.csv", b"a,b".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains(".xlsx"));
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "a.xlsx",
        b"not a zip".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("不是有效的 Excel"));
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "a.xlsx",
        b"PK\x03\x04broken".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("损坏"),
        "{v}"
    );
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "a.xlsx",
        sheet(&["姓名", "电话"], &[]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("表头缺少必填列"),
        "{v}"
    );
    let (s, v) = upload(&app, &c, "/api/v1/import/members", "a.xlsx", sheet(&H, &[])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["message"], "文件中没有数据行");
    let big = vec![0u8; 21 * 1024 * 1024];
    let (s, v) = upload(&app, &c, "/api/v1/import/members", "big.xlsx", big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("20MB"),
        "{v}"
    );
}

#[tokio::test]
async fn org_import_builds_units_and_trees() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let h = [
        "机关党组织",
        "类别",
        "组织名称",
        "组织类型",
        "上级组织",
        "成立日期",
        "任期开始",
        "任期届满",
    ];
    let r = |cells: [&str; 8]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let rows = vec![
        r([
            "市导入局",
            "经济发展类",
            "第一党小组",
            "党小组",
            "办公室党支部",
            "",
            "",
            "",
        ]),
        r([
            "市导入局",
            "经济发展类",
            "办公室党支部",
            "支部",
            "市导入局机关党委",
            "2012-07-01",
            "2024-01-01",
            "2027-01-01",
        ]),
        r([
            "市导入局",
            "经济发展类",
            "市导入局机关党委",
            "党委",
            "",
            "2010-07-01",
            "2022-06-30",
            "2027-06-29",
        ]),
    ];
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/orgs",
        "orgs.xlsx",
        sheet(&h, &rows),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], 4);
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/orgs",
        "orgs.xlsx",
        sheet(&h, &rows),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["unchanged"], 3);
    let bad = vec![
        r([
            "市导入局",
            "经济发展类",
            "孤儿支部",
            "党支部",
            "不存在的党委",
            "",
            "",
            "",
        ]),
        r(["市新局", "", "支部", "党支部", "", "", "", ""]),
    ];
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/orgs",
        "orgs.xlsx",
        sheet(&h, &bad),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(app.sql_scalar("select count(*) from unit").await, 1);
}

/// A unit admin's upload through the page: the status and the import's error message.
async fn upload_page(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Option<String>) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name("名册.xlsx"));
    let r = c
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    let html = r.text().await.expect("page");
    (s, testid_text(&html, "import-error"))
}

#[tokio::test]
async fn hostile_workbooks_are_refused_and_the_server_keeps_serving() {
    use yaoshi::xlsx::samples;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let unit = app
        .user_with(
            &admin,
            "import_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let members = app.sql_scalar("select count(*) from member").await;
    // Cells at A1 and XFD1048576 only, 1.6 KB: reading it densely aborted the server.
    let sparse = samples::sparse(false).expect("xlsx");
    let rows_message = "文件过大或结构异常：第 1048576 行有内容，超过导入上限 100000 行";
    for path in ["/api/v1/import/members", "/api/v1/import/orgs"] {
        let (s, v) = upload(&app, &unit, path, "名册.xlsx", sparse.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(v["error"]["message"], rows_message, "{path}");
    }
    for path in ["/org/import/members", "/org/import/orgs"] {
        let (s, m) = upload_page(&app, &unit, path, sparse.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(m.as_deref(), Some(rows_message), "{path}");
    }
    // The same declaring its range.
    let (s, m) = upload_page(
        &app,
        &unit,
        "/org/import/members",
        samples::sparse(true).expect("xlsx"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        m.as_deref(),
        Some("文件过大或结构异常：工作表声明了 1048576 行（范围 A1:XFD1048576），超过导入上限 100000 行")
    );
    // 64 MB of text in one cell, packed into 64 KB.
    let (s, v) = upload(
        &app,
        &unit,
        "/api/v1/import/members",
        "名册.xlsx",
        samples::huge_shared_string(64 << 20).expect("xlsx"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("共享字符串表 xl/sharedStrings.xml 解压后有 64.0 MB，超过上限 24.0 MB"),
        "{v}"
    );
    // Still serving, nothing imported, and a real file still imports.
    let r = TestApp::client()
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.sql_scalar("select count(*) from member").await, members);
    let good = vec![row(
        "周五",
        &nth_id(30),
        "正式",
        "2001-07-01",
        "2002-07-01",
        "办公室党支部",
        "",
    )];
    let (s, v) = upload(
        &app,
        &unit,
        "/api/v1/import/members",
        "名册.xlsx",
        sheet(&H, &good),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], 1, "{v}");
}

/// A workbook cell holding a bidi control (a right-to-left override in a name, an isolate
/// in a branch's name) is a row error naming its column; nothing of the file is stored.
#[tokio::test]
async fn bidi_controls_in_imported_cells_are_row_errors() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    city(&app, &c).await;
    let members = app.sql_scalar("select count(*) from member").await;
    let rows = vec![
        row(
            "赵一",
            &nth_id(40),
            "正式",
            "2000-01-01",
            "2001-01-01",
            "办公室党支部",
            "",
        ),
        row(
            "\u{202E}二钱",
            &nth_id(41),
            "正式",
            "2000-01-01",
            "2001-01-01",
            "办公室党支部",
            "",
        ),
        row(
            "孙三",
            &nth_id(42),
            "正式",
            "2000-01-01",
            "2001-01-01",
            "办公室\u{2067}党支部",
            "",
        ),
        row(
            "李四\u{200F}",
            &nth_id(43),
            "正式",
            "2000-01-01",
            "2001-01-01",
            "办公室党支部",
            "",
        ),
    ];
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/members",
        "党员.xlsx",
        sheet(&H, &rows),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["outcome"], "rejected", "{v}");
    let errors = v["errors"].as_array().expect("errors");
    let bidi = |row: u64, col: &str| {
        errors.iter().any(|e| {
            e["row"] == row && e["column"] == col && e["message"] == yaoshi::messages::BIDI_IN_CELL
        })
    };
    assert!(bidi(3, "姓名"), "{v}");
    assert!(bidi(4, "党支部"), "{v}");
    assert!(bidi(5, "姓名"), "{v}");
    assert!(!errors.iter().any(|e| e["row"] == 2), "the good row: {v}");
    assert_eq!(app.sql_scalar("select count(*) from member").await, members);

    // Org import: a unit or org named with an override.
    let h = [
        "机关党组织",
        "类别",
        "组织名称",
        "组织类型",
        "上级组织",
        "成立日期",
        "任期开始",
        "任期届满",
    ];
    let r = |cells: [&str; 8]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let rows = vec![
        r(["市测试局", "", "新党支部", "党支部", "", "", "", ""]),
        r([
            "市测试局",
            "",
            "新\u{202D}党支部二",
            "党支部",
            "",
            "",
            "",
            "",
        ]),
        r([
            "市\u{2066}测试局",
            "",
            "又一党支部",
            "党支部",
            "",
            "",
            "",
            "",
        ]),
    ];
    let orgs = app.sql_scalar("select count(*) from org").await;
    let (s, v) = upload(
        &app,
        &c,
        "/api/v1/import/orgs",
        "组织.xlsx",
        sheet(&h, &rows),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let errors = v["errors"].as_array().expect("errors");
    let bidi = |row: u64, col: &str| {
        errors.iter().any(|e| {
            e["row"] == row && e["column"] == col && e["message"] == yaoshi::messages::BIDI_IN_CELL
        })
    };
    assert!(bidi(3, "组织名称"), "{v}");
    assert!(bidi(4, "机关党组织"), "{v}");
    assert_eq!(app.sql_scalar("select count(*) from org").await, orgs);
}
