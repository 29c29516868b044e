//! Writing .xlsx files (rust_xlsxwriter) and reading uploaded ones (calamine), shared by
//! every list export and every import.

use std::io::{Cursor, Read};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use calamine::{DataRef, Reader, Xlsx, XlsxError};
use rust_xlsxwriter::{Format, Workbook};

use crate::error::{AppError, AppResult};

/// A cell of an export, typed so Excel sorts and sums it as what it is.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Kept as text (ID numbers and phones must not become numbers).
    Text(String),
    /// A count.
    Int(i64),
    /// A number with a fraction (points such as 2.5).
    Number(f64),
    /// A share, 0.0–1.0, shown as a percent with one decimal; empty when absent.
    Percent(Option<f64>),
    /// A calendar date, shown as YYYY-MM-DD.
    Date(time::Date),
    /// An instant (unix seconds), shown in Beijing time as YYYY-MM-DD HH:MM.
    Time(i64),
}

impl Cell {
    /// A rate given in percent (as `text::rate` answers it).
    pub fn percent(p: Option<f64>) -> Cell {
        Cell::Percent(p.map(|p| p / 100.0))
    }

    /// Text, which Excel keeps as typed.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A row of text cells (a template's sample, names and addresses).
    pub fn texts(row: Vec<String>) -> Vec<Cell> {
        row.into_iter().map(Cell::Text).collect()
    }

    /// A stored ISO date as a date cell; empty or anything else stays text.
    pub fn date_or_text(s: &str) -> Cell {
        match time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE) {
            Ok(d) => Cell::Date(d),
            Err(_) => Cell::Text(s.to_string()),
        }
    }

    fn width(&self) -> usize {
        match self {
            Cell::Text(v) => v
                .chars()
                .map(|ch| if ch.is_ascii() { 1 } else { 2 })
                .sum::<usize>(),
            Cell::Int(i) => i.to_string().len(),
            Cell::Number(n) => n.to_string().len(),
            Cell::Percent(_) => 6,
            Cell::Date(_) => 10,
            Cell::Time(_) => 16,
        }
    }
}

/// One sheet of typed cells: a bold header row, then text, numbers, percents and dates;
/// columns sized to their content.
pub fn write_table(sheet_name: &str, headers: &[&str], rows: &[Vec<Cell>]) -> AppResult<Vec<u8>> {
    let mut w = TableWriter::new(sheet_name, headers)?;
    for row in rows {
        w.push(row)?;
    }
    w.finish()
}

/// A sheet of text cells only, as a person fills in an import file. The app's exports use
/// [`write_table`], which types their numbers and dates.
pub fn write_sheet(sheet_name: &str, headers: &[&str], rows: &[Vec<String>]) -> AppResult<Vec<u8>> {
    let rows: Vec<Vec<Cell>> = rows.iter().map(|r| Cell::texts(r.clone())).collect();
    write_table(sheet_name, headers, &rows)
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("xlsx: {e}"))
}

/// A sheet written row by row, so a long export never holds its rows twice (once as
/// records, once as cells): the caller reads a batch, pushes it and drops it.
pub struct TableWriter {
    ws: rust_xlsxwriter::Worksheet,
    columns: u16,
    rows: u32,
    widths: Vec<usize>,
    text: Format,
    percent: Format,
    date: Format,
    time: Format,
}

impl TableWriter {
    pub fn new(sheet_name: &str, headers: &[&str]) -> AppResult<TableWriter> {
        let mut ws = rust_xlsxwriter::Worksheet::new();
        ws.set_name(sheet_name).map_err(xlsx_error)?;
        let bold = Format::new().set_bold();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xlsx_error)?;
        }
        Ok(TableWriter {
            ws,
            columns: headers.len() as u16,
            rows: 0,
            widths: headers.iter().map(|h| h.chars().count() * 2 + 2).collect(),
            text: Format::new().set_num_format("@"),
            percent: Format::new().set_num_format("0.0%"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
        })
    }

    pub fn push(&mut self, row: &[Cell]) -> AppResult<()> {
        self.rows += 1;
        let r = self.rows;
        let ws = &mut self.ws;
        for (c, v) in row.iter().enumerate() {
            let c16 = c as u16;
            match v {
                Cell::Text(s) => ws
                    .write_string_with_format(r, c16, s, &self.text)
                    .map(|_| ()),
                Cell::Int(i) => ws.write_number(r, c16, *i as f64).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, c16, *n).map(|_| ()),
                Cell::Percent(Some(p)) => ws
                    .write_number_with_format(r, c16, *p, &self.percent)
                    .map(|_| ()),
                Cell::Percent(None) => Ok(()),
                Cell::Date(d) => {
                    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(
                        d.year() as u16,
                        u8::from(d.month()),
                        d.day(),
                    )
                    .map_err(xlsx_error)?;
                    ws.write_datetime_with_format(r, c16, &dt, &self.date)
                        .map(|_| ())
                }
                Cell::Time(t) => match time::OffsetDateTime::from_unix_timestamp(*t) {
                    Ok(at) => {
                        let at = at.to_offset(crate::clock::beijing());
                        let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(
                            at.year() as u16,
                            u8::from(at.month()),
                            at.day(),
                        )
                        .and_then(|d| d.and_hms(u16::from(at.hour()), at.minute(), at.second()))
                        .map_err(xlsx_error)?;
                        ws.write_datetime_with_format(r, c16, &dt, &self.time)
                            .map(|_| ())
                    }
                    Err(_) => Ok(()),
                },
            }
            .map_err(xlsx_error)?;
            if let Some(w) = self.widths.get_mut(c) {
                *w = (*w).max(v.width() + 2).min(60);
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> AppResult<Vec<u8>> {
        for (c, w) in self.widths.iter().enumerate() {
            self.ws
                .set_column_width(c as u16, *w as f64)
                .map_err(xlsx_error)?;
        }
        if self.columns > 0 {
            self.ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
            self.ws
                .autofilter(0, 0, self.rows, self.columns - 1)
                .map_err(xlsx_error)?;
        }
        let mut wb = Workbook::new();
        wb.push_worksheet(self.ws);
        wb.save_to_buffer().map_err(xlsx_error)
    }
}

/// An .xlsx download response.
pub fn download(filename: &str, bytes: Vec<u8>) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(filename.as_bytes()).collect();
    let encoded = encoded.replace('+', "%20");
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"export.xlsx\"; filename*=UTF-8''{encoded}"),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// A cell as the text a person would read, with Excel dates given as their serial number.
fn cell_text(d: &DataRef<'_>) -> String {
    match d {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(b) => {
            if *b {
                "是".into()
            } else {
                "否".into()
            }
        }
        DataRef::DateTime(dt) => {
            let v = dt.as_f64();
            format!("{}", v.trunc() as i64)
        }
        DataRef::DateTimeIso(s) => s.clone(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

// ---- reading uploads ----
//
// An upload is untrusted. calamine's `worksheet_range` builds a dense rows × columns grid,
// so a 1.6 KB file with cells at A1 and XFD1048576 asks for half a terabyte, and a 1 MB
// file can hold a gigabyte of highly compressed text that calamine would inflate whole.
// So the package is checked first (the size each entry declares and the size it really
// inflates to, compression ratios, the length of every XML token and of every string
// calamine would build), and the sheet is then read cell by cell against the limits below,
// keeping only the cells that hold something.

/// Sheet rows an import reads (rows 1 to 100,000): the whole city is 30,000 members.
pub const MAX_ROWS: u32 = 100_000;
/// Columns an import reads (A to CV): the member template has 16, the org template 8.
pub const MAX_COLUMNS: u32 = 100;
/// Characters in one cell: no imported field is longer than 60; a title or a note above
/// the header row may be.
pub const MAX_CELL_CHARS: usize = 2_000;
/// Non-empty cells in the sheet: 62,500 full rows of the member template.
pub const MAX_CELLS: usize = 1_000_000;
/// Text the rows hold (UTF-8 bytes), counted at every reference to a shared string.
pub const MAX_TEXT_BYTES: usize = 24 << 20;

/// Entries in the package: a workbook has a dozen or so, more with pictures.
const MAX_ENTRIES: usize = 1_000;
/// End-of-central-directory records: a zip has one (two with zip64).
const MAX_DIRECTORY_ENDS: usize = 8;
/// A worksheet's XML, inflated: it is read as a stream, so only time grows with it.
const MAX_SHEET_XML: u64 = 200 << 20;
/// The shared strings table, inflated: calamine holds all of it while the sheet is read.
const MAX_SHARED_STRINGS_XML: u64 = 24 << 20;
/// Entries in the shared strings table (the city demo's 30,000 members have 139,407).
const MAX_SHARED_STRINGS: usize = 500_000;
/// The styles part (streamed, but legitimately large in workbooks with many formats).
const MAX_STYLES_XML: u64 = 32 << 20;
/// The workbook part and its relationships, which calamine keeps in memory.
const MAX_WORKBOOK_XML: u64 = 8 << 20;
/// Any other entry (pictures, printer settings): calamine never inflates these.
const MAX_OTHER_ENTRY: u64 = 64 << 20;
/// All entries together, inflated.
const MAX_TOTAL_INFLATED: u64 = 400 << 20;
/// Above this inflated size an entry's compression ratio is checked.
const RATIO_CHECKED_FROM: u64 = 4 << 20;
/// Worksheet XML compresses about 10:1; a deflate stream can reach 1,000:1.
const MAX_RATIO: u64 = 100;
/// One XML token (a tag, a run of text, a comment): quick-xml buffers each one whole.
const MAX_TOKEN_BYTES: usize = 64 << 10;
/// The text calamine gathers into one string (a shared or inline string, a value):
/// 2,000 characters take at most 20,000 bytes even written as `&#x10FFFF;` entities.
const MAX_STRING_BYTES: usize = 64 << 10;
/// Element nesting: workbook parts nest a few levels deep.
const MAX_DEPTH: usize = 64;
/// Bytes of an element name.
const MAX_NAME_BYTES: usize = 256;

const NOT_XLSX: &str = "文件不是有效的 Excel（.xlsx）文件，请使用下载的模板填写后上传";
const UNREADABLE_FILE: &str = "无法读取该 Excel 文件，文件可能已损坏";
const UNREADABLE_SHEET: &str = "无法读取第一个工作表，文件可能已损坏";

/// A refusal for a file too large or of an unexpected structure.
fn refused(detail: impl std::fmt::Display) -> AppError {
    AppError::invalid(format!("文件过大或结构异常：{detail}"))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
}

/// `A` for column 0, `XFD` for 16383.
fn column_name(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        n -= 1;
        letters.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    letters.iter().rev().map(|b| *b as char).collect()
}

/// The first sheet of an uploaded workbook as rows of text: `rows[i]` is sheet row i + 1
/// and `rows[i][j]` column j (A = 0); each row is as wide as its last non-empty cell and
/// rows after the last non-empty one are absent. Refuses, with a Chinese message, anything
/// that is not a readable .xlsx or exceeds the limits above.
pub fn read_first_sheet(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    // An .xlsx is a zip: check the magic before handing it to the parser.
    if bytes.len() < 4 || &bytes[..4] != b"PK\x03\x04" {
        return Err(AppError::invalid(NOT_XLSX));
    }
    // calamine indexes its shared strings unchecked and parses cell references with
    // unchecked arithmetic: a crafted file must be refused, not panic the request.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_package(bytes)?;
        read_cells(bytes)
    }))
    .unwrap_or_else(|_| {
        tracing::warn!("the xlsx reader panicked on an uploaded file");
        Err(AppError::invalid(UNREADABLE_SHEET))
    })
}

/// What calamine does with an entry of the package, by its name (matched as calamine
/// matches it: any case, `\` read as `/`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Part {
    /// `xl/worksheets/…`: streamed cell by cell.
    Sheet,
    /// `xl/sharedStrings.xml`: read whole into memory when the workbook is opened.
    SharedStrings,
    /// The other XML parts calamine reads on opening the workbook.
    Xml,
    /// Never inflated.
    Other,
}

fn part_of(name: &str) -> (Part, u64) {
    let n = name.replace('\\', "/").to_ascii_lowercase();
    if n.starts_with("xl/worksheets/")
        || n.starts_with("xl/chartsheets/")
        || n.starts_with("xl/dialogsheets/")
    {
        (Part::Sheet, MAX_SHEET_XML)
    } else if n == "xl/sharedstrings.xml" {
        (Part::SharedStrings, MAX_SHARED_STRINGS_XML)
    } else if n == "xl/styles.xml" {
        (Part::Xml, MAX_STYLES_XML)
    } else if n == "xl/workbook.xml" || n == "xl/_rels/workbook.xml.rels" {
        (Part::Xml, MAX_WORKBOOK_XML)
    } else {
        (Part::Other, MAX_OTHER_ENTRY)
    }
}

/// How an entry is named in a message: what it is, and its name within the package.
fn label(part: Part, name: &str) -> String {
    let mut shown: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
    if shown.chars().count() < name.chars().count() {
        shown.push('…');
    }
    match part {
        Part::Sheet => format!("工作表 {shown} "),
        Part::SharedStrings => format!("共享字符串表 {shown} "),
        Part::Xml | Part::Other => format!("包内文件 {shown} "),
    }
}

/// Checks the zip package before calamine opens it: entry count, declared and real
/// inflated sizes, ratios, and the XML calamine will parse (see `XmlScan`).
fn check_package(bytes: &[u8]) -> AppResult<()> {
    let (headers, ends) = zip_signatures(bytes);
    if headers > MAX_ENTRIES {
        return Err(refused(format!(
            "压缩包内有 {headers} 个文件，超过上限 {MAX_ENTRIES} 个"
        )));
    }
    if ends > MAX_DIRECTORY_ENDS {
        return Err(refused(format!(
            "压缩包有 {ends} 个目录结尾记录（正常的文件只有 1 个）"
        )));
    }
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| AppError::invalid(UNREADABLE_FILE))?;
    if zip.len() > MAX_ENTRIES {
        return Err(refused(format!(
            "压缩包内有 {} 个文件，超过上限 {MAX_ENTRIES} 个",
            zip.len()
        )));
    }
    let mut total: u64 = 0;
    let mut to_scan = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|_| AppError::invalid(UNREADABLE_FILE))?;
        let name = entry.name().to_string();
        let (part, cap) = part_of(&name);
        let size = entry.size();
        let packed = entry.compressed_size();
        if size > cap {
            return Err(refused(format!(
                "{}解压后有 {}，超过上限 {}",
                label(part, &name),
                megabytes(size),
                megabytes(cap)
            )));
        }
        if size > RATIO_CHECKED_FROM && size > packed.saturating_mul(MAX_RATIO) {
            return Err(refused(format!(
                "{}的压缩比为 {}:1，超过上限 {MAX_RATIO}:1（疑似压缩炸弹）",
                label(part, &name),
                size / packed.max(1)
            )));
        }
        total = total.saturating_add(size);
        if total > MAX_TOTAL_INFLATED {
            return Err(refused(format!(
                "解压后总大小超过上限 {}",
                megabytes(MAX_TOTAL_INFLATED)
            )));
        }
        if part != Part::Other {
            to_scan.push((i, name, part, size));
        }
    }
    // The zip crate inflates past the size an entry declares, so what calamine will
    // inflate is inflated here first, as a stream, stopping one byte past the declared size.
    let mut buf = vec![0u8; 64 << 10];
    for (i, name, part, size) in to_scan {
        let entry = zip
            .by_index(i)
            .map_err(|_| AppError::invalid(UNREADABLE_FILE))?;
        let mut limited = entry.take(size.saturating_add(1));
        let mut scan = XmlScan::new(part);
        let mut seen: u64 = 0;
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(AppError::invalid(UNREADABLE_FILE)),
            };
            seen += n as u64;
            if seen > size {
                return Err(refused(format!(
                    "{}解压后比它声明的 {} 字节更大",
                    label(part, &name),
                    size
                )));
            }
            scan.feed(&buf[..n])
                .map_err(|why| refused(format!("{}{why}", label(part, &name))))?;
        }
    }
    Ok(())
}

fn token_too_long() -> String {
    format!(
        "中有一段连续内容超过 {} KB（单元格内容不能超过 {MAX_CELL_CHARS} 字）",
        MAX_TOKEN_BYTES >> 10
    )
}

/// The central directory headers and end-of-directory records (zip32 or zip64) in the
/// file, counted before the zip crate reads the directory: it keeps about 600 bytes for
/// each entry, and tries every end record it finds, each with a scan of the file before
/// it (2 MB of them took 5.7 s, 20 MB would take ten minutes).
fn zip_signatures(bytes: &[u8]) -> (usize, usize) {
    let (mut headers, mut ends) = (0, 0);
    let mut from = 0;
    while let Some(p) = bytes
        .get(from..)
        .and_then(|b| b.iter().position(|b| *b == b'P'))
    {
        let at = from + p;
        match bytes.get(at..at + 4) {
            Some(b"PK\x01\x02") => headers += 1,
            Some(b"PK\x05\x06") | Some(b"PK\x06\x06") => ends += 1,
            _ => {}
        }
        from = at + 1;
    }
    (headers, ends)
}

/// Where `XmlScan` is within the XML.
#[derive(Clone, Copy, PartialEq, Debug)]
enum ScanState {
    /// Character data.
    Text,
    /// Just after `<`.
    Open,
    /// Just after `<!`.
    Bang,
    /// Within a start or end tag, reading its name.
    Name,
    /// Within a tag after its name, in quotes when `quote` is set.
    Attributes,
    /// Within a comment, CDATA section or processing instruction, until `end` (its last
    /// bytes, right-aligned in a u32) has been read; `cdata` when its bytes are text.
    Until { end: u32, mask: u32, cdata: bool },
}

/// A byte-level scan of the XML that calamine will parse with quick-xml, bounding what
/// quick-xml buffers (each token) and what calamine accumulates into one string (the text
/// within an element it reads as a string), without buffering anything itself. Elements
/// are tracked on a stack that an end tag pops only when it names the top element, so an
/// unclosed element keeps counting, as calamine, waiting for its exact end tag, does.
struct XmlScan {
    part: Part,
    state: ScanState,
    /// Bytes of the current token.
    token: usize,
    name: Vec<u8>,
    closing: bool,
    quote: u8,
    prev: u8,
    /// Recent bytes, for finding the end of a comment, CDATA or processing instruction.
    recent: u32,
    stack: Vec<Vec<u8>>,
    /// Stack depth of the element whose text calamine gathers into one string.
    string_at: Option<usize>,
    string_bytes: usize,
    shared_strings: usize,
}

impl XmlScan {
    fn new(part: Part) -> Self {
        XmlScan {
            part,
            state: ScanState::Text,
            token: 0,
            name: Vec::new(),
            closing: false,
            quote: 0,
            prev: 0,
            recent: 0,
            stack: Vec::new(),
            string_at: None,
            string_bytes: 0,
            shared_strings: 0,
        }
    }

    /// Elements whose text calamine gathers into one string: a shared string, an inline
    /// string or value in a cell, a defined name in the workbook.
    fn gathers_text(&self, local: &[u8]) -> bool {
        match self.part {
            Part::SharedStrings => local == b"si",
            Part::Sheet => local == b"is" || local == b"v",
            Part::Xml => local == b"definedName",
            Part::Other => false,
        }
    }

    fn text(&mut self, n: usize) -> Result<(), String> {
        if self.string_at.is_some() {
            self.string_bytes += n;
            if self.string_bytes > MAX_STRING_BYTES {
                return Err(format!(
                    "中有一项文字超过 {} KB（单元格内容不能超过 {MAX_CELL_CHARS} 字）",
                    MAX_STRING_BYTES >> 10
                ));
            }
        }
        Ok(())
    }

    fn token_byte(&mut self) -> Result<(), String> {
        self.token += 1;
        if self.token > MAX_TOKEN_BYTES {
            return Err(token_too_long());
        }
        Ok(())
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            if self.state == ScanState::Text {
                // Runs of text are most of a shared strings table: take them whole.
                let run = data.iter().position(|b| *b == b'<').unwrap_or(data.len());
                self.token += run;
                if self.token > MAX_TOKEN_BYTES {
                    return Err(token_too_long());
                }
                self.text(run)?;
                data = &data[run..];
                if let Some((_, rest)) = data.split_first() {
                    self.state = ScanState::Open;
                    self.token = 1;
                    data = rest;
                }
                continue;
            }
            let b = data[0];
            data = &data[1..];
            self.token_byte()?;
            match self.state {
                ScanState::Text => {}
                ScanState::Open => match b {
                    b'/' => {
                        self.closing = true;
                        self.name.clear();
                        self.state = ScanState::Name;
                    }
                    b'!' => self.state = ScanState::Bang,
                    b'?' => {
                        self.recent = 0;
                        self.state = ScanState::Until {
                            end: u32::from_be_bytes([0, 0, b'?', b'>']),
                            mask: 0xFFFF,
                            cdata: false,
                        };
                    }
                    _ => {
                        self.closing = false;
                        self.name.clear();
                        self.name.push(b);
                        self.state = ScanState::Name;
                    }
                },
                ScanState::Bang => {
                    self.recent = 0;
                    self.state = match b {
                        b'-' => ScanState::Until {
                            end: u32::from_be_bytes([0, b'-', b'-', b'>']),
                            mask: 0xFF_FFFF,
                            cdata: false,
                        },
                        b'[' => ScanState::Until {
                            end: u32::from_be_bytes([0, b']', b']', b'>']),
                            mask: 0xFF_FFFF,
                            cdata: true,
                        },
                        // A DTD: OOXML parts never have one.
                        _ => return Err("含有 DTD 声明，Excel 文件不应含有".into()),
                    };
                }
                ScanState::Name => {
                    if b == b'>' || b == b'/' || b.is_ascii_whitespace() {
                        self.state = ScanState::Attributes;
                        self.quote = 0;
                        if b == b'>' {
                            self.end_tag()?;
                        }
                    } else if self.name.len() >= MAX_NAME_BYTES {
                        return Err("中有过长的 XML 元素名".into());
                    } else {
                        self.name.push(b);
                    }
                }
                ScanState::Attributes => {
                    if self.quote != 0 {
                        if b == self.quote {
                            self.quote = 0;
                        }
                    } else if b == b'"' || b == b'\'' {
                        self.quote = b;
                    } else if b == b'>' {
                        self.end_tag()?;
                    }
                }
                ScanState::Until { end, mask, cdata } => {
                    if cdata {
                        self.text(1)?;
                    }
                    self.recent = (self.recent << 8) | b as u32;
                    if self.recent & mask == end {
                        self.state = ScanState::Text;
                        self.token = 0;
                    }
                }
            }
            self.prev = b;
        }
        Ok(())
    }

    /// At the `>` closing a start or end tag.
    fn end_tag(&mut self) -> Result<(), String> {
        let self_closing = self.prev == b'/' && self.state == ScanState::Attributes;
        self.state = ScanState::Text;
        self.token = 0;
        let local = match self.name.iter().rposition(|b| *b == b':') {
            Some(colon) => self.name[colon + 1..].to_vec(),
            None => self.name.clone(),
        };
        if self.closing {
            if self.stack.last() == Some(&self.name) {
                self.stack.pop();
                if self.string_at == Some(self.stack.len()) {
                    self.string_at = None;
                }
            }
            return Ok(());
        }
        if self.part == Part::SharedStrings && local == b"si" {
            self.shared_strings += 1;
            if self.shared_strings > MAX_SHARED_STRINGS {
                return Err(format!("超过 {MAX_SHARED_STRINGS} 项，超过导入上限"));
            }
        }
        if self_closing {
            return Ok(());
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("的 XML 嵌套超过 {MAX_DEPTH} 层"));
        }
        if self.string_at.is_none() && self.gathers_text(&local) {
            self.string_at = Some(self.stack.len());
            self.string_bytes = 0;
        }
        self.stack.push(std::mem::take(&mut self.name));
        Ok(())
    }
}

/// Reads the first sheet cell by cell (the package has passed `check_package`).
fn read_cells(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|_| AppError::invalid(UNREADABLE_FILE))?;
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| AppError::invalid("Excel 文件中没有工作表"))?;
    let mut cells = match wb.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        // A chart sheet first: no rows, as calamine's own range reading gives.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(_) => return Err(AppError::invalid(UNREADABLE_SHEET)),
    };
    let dim = cells.dimensions();
    let declared = || {
        format!(
            "{}{}:{}{}",
            column_name(dim.start.1),
            dim.start.0 as u64 + 1,
            column_name(dim.end.1),
            dim.end.0 as u64 + 1
        )
    };
    if dim.end.0 >= MAX_ROWS {
        return Err(refused(format!(
            "工作表声明了 {} 行（范围 {}），超过导入上限 {MAX_ROWS} 行",
            dim.end.0 as u64 + 1,
            declared()
        )));
    }
    if dim.end.1 >= MAX_COLUMNS {
        return Err(refused(format!(
            "工作表声明了 {} 列（范围 {}），超过导入上限 {MAX_COLUMNS} 列",
            dim.end.1 as u64 + 1,
            declared()
        )));
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut count = 0usize;
    let mut text_bytes = 0usize;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|_| AppError::invalid(UNREADABLE_SHEET))?
    {
        let (r, c) = cell.get_position();
        let value = cell.get_value();
        let long = match value {
            DataRef::Empty => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
                if s.is_empty() {
                    continue;
                }
                s.len() > MAX_CELL_CHARS && s.chars().count() > MAX_CELL_CHARS
            }
            DataRef::SharedString(s) => {
                if s.is_empty() {
                    continue;
                }
                s.len() > MAX_CELL_CHARS && s.chars().count() > MAX_CELL_CHARS
            }
            _ => false,
        };
        // Cells beyond the limits refuse the file: the import cannot leave out part of it.
        if r >= MAX_ROWS {
            return Err(refused(format!(
                "第 {} 行有内容，超过导入上限 {MAX_ROWS} 行",
                r as u64 + 1
            )));
        }
        let at = || format!("{}{}", column_name(c), r + 1);
        if c >= MAX_COLUMNS {
            return Err(refused(format!(
                "第 {} 行第 {} 列（{}）有内容，超过导入上限 {MAX_COLUMNS} 列",
                r + 1,
                c as u64 + 1,
                at()
            )));
        }
        if long {
            return Err(AppError::invalid(format!(
                "第 {} 行第 {} 列（{}）的内容超过 {MAX_CELL_CHARS} 字，超过导入上限，请检查后重新上传",
                r + 1,
                c + 1,
                at()
            )));
        }
        let text = cell_text(value);
        count += 1;
        text_bytes += text.len();
        if count > MAX_CELLS {
            return Err(refused(format!(
                "非空单元格超过 {MAX_CELLS} 个，超过导入上限，请拆分后分批导入"
            )));
        }
        if text_bytes > MAX_TEXT_BYTES {
            return Err(refused(format!(
                "表格文字总量超过 {}，超过导入上限，请拆分后分批导入",
                megabytes(MAX_TEXT_BYTES as u64)
            )));
        }
        let (r, c) = (r as usize, c as usize);
        if rows.len() <= r {
            rows.resize_with(r + 1, Vec::new);
        }
        if let Some(row) = rows.get_mut(r) {
            if row.len() <= c {
                // Exact growth: rows are short, and doubling would waste a third of the
                // memory the cells take.
                row.reserve_exact(c + 1 - row.len());
                row.resize(c + 1, String::new());
            }
            if let Some(slot) = row.get_mut(c) {
                *slot = text;
            }
        }
    }
    Ok(rows)
}

/// Workbooks written part by part, hostile ones among them, for the tests and the import
/// memory benchmark (`examples/import_memory.rs`); the application never calls these.
#[doc(hidden)]
pub mod samples {
    use std::io::{self, Cursor, Write};

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    pub type Result<T> = zip::result::ZipResult<T>;

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;
    const SST_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

    /// A one-sheet package under construction: the fixed parts are written, the sheet and
    /// the shared strings are the caller's.
    pub struct Package {
        zip: ZipWriter<Cursor<Vec<u8>>>,
    }

    impl Package {
        pub fn new() -> Result<Package> {
            let mut p = Package {
                zip: ZipWriter::new(Cursor::new(Vec::new())),
            };
            p.part("[Content_Types].xml", CONTENT_TYPES.as_bytes())?;
            p.part("_rels/.rels", RELS.as_bytes())?;
            p.part("xl/workbook.xml", WORKBOOK.as_bytes())?;
            p.part("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes())?;
            Ok(p)
        }

        pub fn part(&mut self, name: &str, body: &[u8]) -> Result<()> {
            self.part_with(name, |w| w.write_all(body))
        }

        /// An entry written by `write` in pieces, so that a large one is never held whole.
        pub fn part_with(
            &mut self,
            name: &str,
            write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        ) -> Result<()> {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .large_file(false);
            self.zip.start_file(name, options)?;
            write(&mut self.zip)?;
            Ok(())
        }

        /// The first sheet: `before` goes ahead of `<sheetData>` (a `<dimension>`), and
        /// `rows` writes what is inside it.
        pub fn sheet(
            &mut self,
            before: &str,
            rows: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        ) -> Result<()> {
            self.part_with("xl/worksheets/sheet1.xml", |w| {
                w.write_all(SHEET_START.as_bytes())?;
                w.write_all(before.as_bytes())?;
                w.write_all(b"<sheetData>")?;
                rows(w)?;
                w.write_all(b"</sheetData></worksheet>")
            })
        }

        /// The shared strings table: `items` writes the `<si>` elements.
        pub fn shared_strings(
            &mut self,
            items: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        ) -> Result<()> {
            self.part_with("xl/sharedStrings.xml", |w| {
                w.write_all(SST_START.as_bytes())?;
                items(w)?;
                w.write_all(b"</sst>")
            })
        }

        pub fn finish(self) -> Result<Vec<u8>> {
            Ok(self.zip.finish()?.into_inner())
        }
    }

    /// A workbook of one sheet from its `<sheetData>` content and optional `<si>` elements.
    pub fn workbook(before: &str, sheet_data: &str, shared: Option<&str>) -> Result<Vec<u8>> {
        let mut p = Package::new()?;
        p.sheet(before, |w| w.write_all(sheet_data.as_bytes()))?;
        if let Some(items) = shared {
            p.shared_strings(|w| w.write_all(items.as_bytes()))?;
        }
        p.finish()
    }

    /// Two cells, A1 and XFD1048576 (the last cell Excel has): a dense reading of it
    /// allocates 17 billion cells. With `dimension`, the sheet also declares that range.
    pub fn sparse(dimension: bool) -> Result<Vec<u8>> {
        let before = if dimension {
            r#"<dimension ref="A1:XFD1048576"/>"#
        } else {
            ""
        };
        workbook(
            before,
            r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>"#,
            None,
        )
    }

    /// A1 holds one shared string of `len` bytes of `a`: a gigabyte packs into 1 MB.
    pub fn huge_shared_string(len: usize) -> Result<Vec<u8>> {
        let mut p = Package::new()?;
        p.sheet("", |w| {
            w.write_all(br#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#)
        })?;
        p.shared_strings(|w| {
            w.write_all(b"<si><t>")?;
            let chunk = vec![b'a'; 1 << 20];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len());
                w.write_all(&chunk[..n])?;
                left -= n;
            }
            w.write_all(b"</t></si>")
        })?;
        p.finish()
    }

    /// `rows` rows of `cols` numbers each, from A1.
    pub fn numbers(rows: u32, cols: u32) -> Result<Vec<u8>> {
        let mut p = Package::new()?;
        p.sheet("", |w| {
            for r in 1..=rows {
                write!(w, r#"<row r="{r}">"#)?;
                for c in 0..cols {
                    write!(
                        w,
                        r#"<c r="{}{r}"><v>{}</v></c>"#,
                        super::column_name(c),
                        c + 1
                    )?;
                }
                w.write_all(b"</row>")?;
            }
            Ok(())
        })?;
        p.finish()
    }

    /// One shared string of `chars` characters referenced by `refs` cells (column A).
    pub fn repeated_shared_string(chars: usize, refs: u32) -> Result<Vec<u8>> {
        let mut p = Package::new()?;
        p.sheet("", |w| {
            for r in 1..=refs {
                write!(w, r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>"#)?;
            }
            Ok(())
        })?;
        p.shared_strings(|w| write!(w, "<si><t>{}</t></si>", "党".repeat(chars)))?;
        p.finish()
    }

    /// A shared strings table of `n` short strings, A1 using the first.
    pub fn many_shared_strings(n: u32) -> Result<Vec<u8>> {
        let mut p = Package::new()?;
        p.sheet("", |w| {
            w.write_all(br#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#)
        })?;
        p.shared_strings(|w| {
            for i in 0..n {
                write!(w, "<si><t>{i}</t></si>")?;
            }
            Ok(())
        })?;
        p.finish()
    }

    /// A normal one-cell workbook with `n` more empty entries.
    pub fn many_entries(n: u32) -> Result<Vec<u8>> {
        let mut p = Package::new()?;
        p.sheet("", |w| {
            w.write_all(br#"<row r="1"><c r="A1"><v>1</v></c></row>"#)
        })?;
        for i in 0..n {
            p.part(&format!("customXml/item{i}.xml"), b"")?;
        }
        p.finish()
    }

    /// `bytes` of end-of-central-directory records after a local header, each pointing
    /// at a directory that is not there: the zip crate tries them all, scanning the file
    /// before each one.
    pub fn directory_end_flood(bytes: usize) -> Vec<u8> {
        let mut out = b"PK\x03\x04".to_vec();
        out.resize(30, 0);
        // Disks 0 and 0, one entry here and in all, a 46-byte directory at offset 0, no comment.
        let mut record = b"PK\x05\x06".to_vec();
        for field in [0u16, 0, 1, 1] {
            record.extend_from_slice(&field.to_le_bytes());
        }
        record.extend_from_slice(&46u32.to_le_bytes());
        record.extend_from_slice(&0u32.to_le_bytes());
        record.extend_from_slice(&0u16.to_le_bytes());
        while out.len() + record.len() <= bytes {
            out.extend_from_slice(&record);
        }
        out
    }

    /// Rewrites the inflated size that entry `name` declares, in its local header and in
    /// the central directory: the zip crate does not hold an entry to its declared size.
    pub fn declare_size(package: &mut [u8], name: &str, size: u32) -> bool {
        let mut found = false;
        // (signature, offset of the size field, offset of the name length, of the name)
        for (sig, size_at, len_at, name_at) in [
            (*b"PK\x03\x04", 22usize, 26usize, 30usize),
            (*b"PK\x01\x02", 24, 28, 46),
        ] {
            let mut i = 0;
            while i + name_at <= package.len() {
                if package[i..i + 4] == sig {
                    let len =
                        u16::from_le_bytes([package[i + len_at], package[i + len_at + 1]]) as usize;
                    let start = i + name_at;
                    if package.get(start..start + len) == Some(name.as_bytes()) {
                        package[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
                        found = true;
                    }
                }
                i += 1;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    use calamine::Data;
    use rust_xlsxwriter::{ExcelDateTime, Workbook};

    use super::Cell as XCell;
    use super::*;

    /// Counts the bytes each thread has allocated, so that a test can tell how much
    /// reading one file allocated at its peak (a dense reading of a hostile one aborts).
    struct Tracking;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn track(delta: isize) {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + delta;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    unsafe impl GlobalAlloc for Tracking {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = System.alloc(layout);
            if !p.is_null() {
                track(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = System.alloc_zeroed(layout);
            if !p.is_null() {
                track(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            System.dealloc(ptr, layout);
            track(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = System.realloc(ptr, layout, new_size);
            if !p.is_null() {
                track(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    #[global_allocator]
    static ALLOCATOR: Tracking = Tracking;

    const MB: isize = 1 << 20;

    /// Reads `bytes`, returning the outcome, the peak of the bytes this thread allocated
    /// meanwhile, and the time taken.
    fn measured(bytes: &[u8]) -> (AppResult<Vec<Vec<String>>>, isize, Duration) {
        let base = LIVE.with(|l| l.get());
        PEAK.with(|p| p.set(base));
        let t0 = Instant::now();
        let r = read_first_sheet(bytes);
        let elapsed = t0.elapsed();
        (r, PEAK.with(|p| p.get()) - base, elapsed)
    }

    /// `bytes` must be refused with a message containing `expected`, allocating at most
    /// `max_mb` MB along the way. (How long it takes is a benchmark's business, not a test's:
    /// see BENCHMARKS.md, "Import memory".)
    fn refuses(bytes: &[u8], expected: &str, max_mb: isize) -> String {
        let (r, peak, _elapsed) = measured(bytes);
        let message = match r {
            Err(AppError::Invalid { message, .. }) => message,
            Err(e) => panic!("refused otherwise: {e:?}"),
            Ok(rows) => panic!("read {} rows", rows.len()),
        };
        assert!(message.contains(expected), "{message}");
        assert!(peak < max_mb * MB, "{message}: {} MB allocated", peak / MB);
        message
    }

    /// The reading this module did before: calamine's dense range.
    fn dense(bytes: &[u8]) -> Vec<Vec<String>> {
        fn text(d: &Data) -> String {
            match d {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(f) => {
                    if f.fract() == 0.0 && f.abs() < 1e15 {
                        format!("{}", *f as i64)
                    } else {
                        f.to_string()
                    }
                }
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => if *b { "是" } else { "否" }.into(),
                Data::DateTime(dt) => format!("{}", dt.as_f64().trunc() as i64),
                Data::DateTimeIso(s) => s.clone(),
                Data::DurationIso(s) => s.clone(),
                Data::Error(e) => format!("#{e:?}"),
            }
        }
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("open");
        let range = wb.worksheet_range_at(0).expect("sheet").expect("range");
        range.rows().map(|r| r.iter().map(text).collect()).collect()
    }

    /// `rows` as the dense reading gives them: every row as wide as the widest.
    fn padded(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        for r in &mut rows {
            r.resize(width, String::new());
        }
        rows
    }

    #[test]
    fn round_trip() {
        let bytes = write_table(
            "党员",
            &["姓名", "身份证号", "入党日期", "党员数", "时间"],
            &[vec![
                XCell::text("张三"),
                XCell::text("11010519491231002X"),
                XCell::date_or_text("1975-07-01"),
                XCell::Int(31),
                // 2026-12-07 08:30 in Beijing.
                XCell::Time(1_796_603_400),
            ]],
        )
        .expect("write");
        let rows = read_first_sheet(&bytes).expect("read");
        assert_eq!(
            rows[0],
            vec!["姓名", "身份证号", "入党日期", "党员数", "时间"]
        );
        // The date reads back as its serial, which the importers take as that date.
        assert_eq!(rows[1][..4], ["张三", "11010519491231002X", "27576", "31"]);
        assert_eq!(
            crate::text::excel_serial_to_date(27576.0).ok(),
            Some(time::macros::date!(1975 - 07 - 01))
        );
        assert_eq!(rows[1][4], "46363");
    }

    #[test]
    fn normal_files_read_as_the_dense_range_read_them() {
        // Every kind of cell a ledger has: text, numbers, dates, booleans, a formula, a
        // gap in a row and an empty row.
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let time = Format::new().set_num_format("hh:mm");
        ws.write_string(0, 0, "姓名").expect("w");
        ws.write_string(0, 1, "编号").expect("w");
        ws.write_string(0, 2, "入党日期").expect("w");
        ws.write_string(0, 4, "备注").expect("w");
        ws.write_string(1, 0, " 赵一 ").expect("w");
        ws.write_string(1, 1, "0012").expect("w");
        let d = ExcelDateTime::from_ymd(1975, 7, 1).expect("date");
        ws.write_datetime_with_format(1, 2, &d, &date).expect("w");
        ws.write_number(1, 3, 3.25).expect("w");
        ws.write_boolean(1, 4, true).expect("w");
        ws.write_number(3, 0, 44260.0).expect("w");
        ws.write_number(3, 1, 1e20).expect("w");
        ws.write_number(3, 2, -7.0).expect("w");
        ws.write_number_with_format(3, 3, 0.5, &time).expect("w");
        ws.write_formula(3, 4, "=1+1").expect("w");
        ws.write_string(4, 1, "a & <b> \"c\"").expect("w");
        let bytes = wb.save_to_buffer().expect("save");
        let rows = read_first_sheet(&bytes).expect("read");
        assert_eq!(padded(rows.clone()), dense(&bytes));
        assert_eq!(rows[1], vec![" 赵一 ", "0012", "27576", "3.25", "是"]);
        assert!(rows[2].is_empty());
        assert_eq!(rows[4], vec!["", "a & <b> \"c\""]);
        // And the exports, the templates and the error report the app writes.
        let bytes = write_table(
            "党员",
            &["姓名", "身份证号", "党小组"],
            &[
                vec![
                    XCell::text("张三"),
                    XCell::text("11010519491231002X"),
                    XCell::text(""),
                ],
                vec![
                    XCell::text("李四"),
                    XCell::text(""),
                    XCell::text("第一党小组"),
                ],
            ],
        )
        .expect("write");
        let rows = read_first_sheet(&bytes).expect("read");
        assert_eq!(padded(rows.clone()), dense(&bytes));
        assert_eq!(rows[1], vec!["张三", "11010519491231002X"]);
    }

    #[test]
    fn rows_and_columns_keep_their_sheet_positions() {
        // Inline strings, a sheet starting at B3, rows out of order.
        let bytes = samples::workbook(
            r#"<dimension ref="B3:C5"/>"#,
            r#"<row r="5"><c r="C5" t="inlineStr"><is><t>后</t></is></c></row><row r="3"><c r="B3" t="str"><v>前</v></c></row>"#,
            None,
        )
        .expect("xlsx");
        let rows = read_first_sheet(&bytes).expect("read");
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[2], vec!["", "前"]);
        assert_eq!(rows[4], vec!["", "", "后"]);
    }

    #[test]
    fn refuses_non_xlsx() {
        assert!(read_first_sheet(b"hello").is_err());
        assert!(read_first_sheet(b"PK\x03\x04garbage").is_err());
    }

    #[test]
    fn refuses_a_sparse_sheet_reaching_the_last_cell() {
        // 1.6 KB with cells at A1 and XFD1048576: a dense reading asks for 512 GiB.
        let bytes = samples::sparse(false).expect("xlsx");
        assert!(bytes.len() < 2_000, "{}", bytes.len());
        refuses(
            &bytes,
            "文件过大或结构异常：第 1048576 行有内容，超过导入上限 100000 行",
            1,
        );
        refuses(
            &samples::sparse(true).expect("xlsx"),
            "文件过大或结构异常：工作表声明了 1048576 行（范围 A1:XFD1048576），超过导入上限 100000 行",
            1,
        );
        let wide = samples::workbook(r#"<dimension ref="A1:XFD3"/>"#, "", None).expect("xlsx");
        refuses(
            &wide,
            "工作表声明了 16384 列（范围 A1:XFD3），超过导入上限 100 列",
            1,
        );
    }

    #[test]
    fn refuses_rows_past_the_limit() {
        let at = |r: u32| {
            samples::workbook(
                "",
                &format!(r#"<row r="{r}"><c r="A{r}"><v>1</v></c></row>"#),
                None,
            )
            .expect("xlsx")
        };
        let rows = read_first_sheet(&at(100_000)).expect("the last row allowed");
        assert_eq!(rows.len(), 100_000);
        refuses(
            &at(100_001),
            "第 100001 行有内容，超过导入上限 100000 行",
            1,
        );
        // A million real rows: refused at the first past the limit, holding only those.
        let million = samples::numbers(1_000_000, 1).expect("xlsx");
        refuses(&million, "第 100001 行有内容，超过导入上限 100000 行", 16);
    }

    #[test]
    fn refuses_columns_past_the_limit() {
        let at = |col: &str| {
            samples::workbook(
                "",
                &format!(r#"<row r="1"><c r="{col}1"><v>1</v></c></row>"#),
                None,
            )
            .expect("xlsx")
        };
        assert_eq!(
            read_first_sheet(&at("CV")).expect("column 100")[0].len(),
            100
        );
        refuses(
            &at("CW"),
            "文件过大或结构异常：第 1 行第 101 列（CW1）有内容，超过导入上限 100 列",
            1,
        );
        // Empty cells out there (formatting) are not content.
        let styled = samples::workbook(
            "",
            r#"<row r="1"><c r="A1"><v>1</v></c><c r="XFD1" s="1"/></row><row r="1048576"><c r="XFD1048576" s="1"/></row>"#,
            None,
        )
        .expect("xlsx");
        assert_eq!(read_first_sheet(&styled).expect("read"), vec![vec!["1"]]);
    }

    #[test]
    fn refuses_a_cell_over_the_length_limit() {
        let ok = samples::repeated_shared_string(MAX_CELL_CHARS, 1).expect("xlsx");
        assert_eq!(
            read_first_sheet(&ok).expect("read")[0][0].chars().count(),
            2000
        );
        let long = samples::repeated_shared_string(MAX_CELL_CHARS + 1, 1).expect("xlsx");
        refuses(&long, "第 1 行第 1 列（A1）的内容超过 2000 字", 1);
        let inline = samples::workbook(
            "",
            &format!(
                r#"<row r="2"><c r="B2" t="inlineStr"><is><t>{}</t></is></c></row>"#,
                "x".repeat(2001)
            ),
            None,
        )
        .expect("xlsx");
        refuses(&inline, "第 2 行第 2 列（B2）的内容超过 2000 字", 1);
    }

    #[test]
    fn refuses_a_huge_shared_string_by_its_size() {
        // 32 MB of text in one cell packs into 32 KB.
        let mut bytes = samples::huge_shared_string(32 << 20).expect("xlsx");
        assert!(bytes.len() < 100_000, "{}", bytes.len());
        refuses(
            &bytes,
            "文件过大或结构异常：共享字符串表 xl/sharedStrings.xml 解压后有 32.0 MB，超过上限 24.0 MB",
            1,
        );
        // Declaring a small size does not help: inflating stops at the first 64 KB token.
        assert!(samples::declare_size(
            &mut bytes,
            "xl/sharedStrings.xml",
            1 << 20
        ));
        refuses(&bytes, "中有一段连续内容超过 64 KB", 1);
        // Nor does declaring a huge one with a plausible ratio.
        let mut small = samples::workbook("", "", Some("<si><t>x</t></si>")).expect("xlsx");
        assert!(samples::declare_size(
            &mut small,
            "xl/sharedStrings.xml",
            u32::MAX
        ));
        refuses(&small, "解压后有 4096.0 MB，超过上限 24.0 MB", 1);
        // A string split into many runs is one string to calamine.
        let runs = "<r><t>0123456789</t></r>".repeat(7_000);
        let bytes = samples::workbook("", "", Some(&format!("<si>{runs}</si>"))).expect("xlsx");
        refuses(&bytes, "中有一项文字超过 64 KB", 1);
        // Even with the `<t>` left open, which calamine reads on to its end tag, past
        // every `</si>`.
        let unclosed = format!("<si><t>{}", "0123456789</si>".repeat(7_000));
        let bytes = samples::workbook("", "", Some(&unclosed)).expect("xlsx");
        refuses(&bytes, "中有一项文字超过 64 KB", 1);
    }

    #[test]
    fn refuses_a_shared_string_referenced_past_the_text_limit() {
        // 2,000 characters referenced 5,000 times: 30 MB of text from a 50 KB file.
        let bytes = samples::repeated_shared_string(MAX_CELL_CHARS, 5_000).expect("xlsx");
        refuses(&bytes, "表格文字总量超过 24.0 MB，超过导入上限", 40);
    }

    #[test]
    fn refuses_more_cells_than_the_limit() {
        let bytes = samples::numbers(10_001, 100).expect("xlsx");
        refuses(&bytes, "非空单元格超过 1000000 个，超过导入上限", 80);
    }

    #[test]
    fn refuses_bombs_and_odd_packages() {
        // A highly compressible sheet.
        let mut p = samples::Package::new().expect("p");
        p.sheet("", |w| {
            for _ in 0..1_000_000 {
                w.write_all(b"<row/>")?;
            }
            Ok(())
        })
        .expect("sheet");
        let bytes = p.finish().expect("xlsx");
        refuses(&bytes, "的压缩比为", 1);
        refuses(&bytes, "超过上限 100:1（疑似压缩炸弹）", 1);
        // An entry larger than it declares.
        let mut bytes = samples::numbers(100, 10).expect("xlsx");
        assert!(samples::declare_size(
            &mut bytes,
            "xl/worksheets/sheet1.xml",
            1_000
        ));
        refuses(
            &bytes,
            "工作表 xl/worksheets/sheet1.xml 解压后比它声明的 1000 字节更大",
            1,
        );
        refuses(
            &samples::many_entries(1_000).expect("xlsx"),
            "压缩包内有 1005 个文件，超过上限 1000 个",
            1,
        );
        refuses(
            &samples::directory_end_flood(200_000),
            "压缩包有 9089 个目录结尾记录（正常的文件只有 1 个）",
            1,
        );
        refuses(
            &samples::many_shared_strings(500_001).expect("xlsx"),
            "共享字符串表 xl/sharedStrings.xml 超过 500000 项，超过导入上限",
            1,
        );
        let dtd =
            samples::workbook("", "", Some("<!DOCTYPE x [<!ENTITY a \"b\">]><si/>")).expect("xlsx");
        refuses(&dtd, "含有 DTD 声明", 1);
        let deep = samples::workbook("", &"<x>".repeat(100), None).expect("xlsx");
        refuses(&deep, "嵌套超过 64 层", 1);
    }

    #[test]
    fn a_reference_to_a_missing_shared_string_is_refused_not_a_panic() {
        // calamine indexes its shared strings unchecked. (The panic hook may capture a
        // backtrace, which allocates: memory is not the point here.)
        let bytes = samples::workbook("", r#"<row r="1"><c r="A1" t="s"><v>7</v></c></row>"#, None)
            .expect("xlsx");
        refuses(&bytes, UNREADABLE_SHEET, 4096);
    }

    #[test]
    fn the_xml_scan_follows_tags_quotes_comments_and_cdata() {
        let mut s = XmlScan::new(Part::SharedStrings);
        let xml = br#"<?xml version="1.0"?><!-- a > b --><sst><si><t a="x>y" b='/>'>a</t></si><si/><x:si><![CDATA[<not a tag>]]></x:si></sst>"#;
        // Fed in every split, the result is the same.
        for split in 0..xml.len() {
            let mut s2 = XmlScan::new(Part::SharedStrings);
            s2.feed(&xml[..split]).expect("feed");
            s2.feed(&xml[split..]).expect("feed");
            assert_eq!(s2.shared_strings, 3);
            assert!(s2.stack.is_empty(), "{split}");
            assert_eq!(s2.string_at, None);
        }
        s.feed(xml).expect("feed");
        assert_eq!(s.shared_strings, 3);
    }
}
