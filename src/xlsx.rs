//! Writing .xlsx files (rust_xlsxwriter) and reading uploaded ones (calamine), shared by
//! every list export and every import.

use std::io::Cursor;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};

use crate::error::{AppError, AppResult};

/// One sheet: a bold header row, then text cells; columns sized to their content.
pub fn write_sheet(sheet_name: &str, headers: &[&str], rows: &[Vec<String>]) -> AppResult<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let err = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("xlsx: {e}"));
    ws.set_name(sheet_name).map_err(err)?;
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count() * 2 + 2).collect();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // Text format keeps ID numbers and phones from becoming numbers in Excel.
            ws.write_string_with_format(r as u32 + 1, c as u16, v, &text)
                .map_err(err)?;
            if let Some(w) = widths.get_mut(c) {
                let len = v
                    .chars()
                    .map(|ch| if ch.is_ascii() { 1 } else { 2 })
                    .sum::<usize>()
                    + 2;
                *w = (*w).max(len).min(60);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w as f64).map_err(err)?;
    }
    if !headers.is_empty() {
        ws.set_freeze_panes(1, 0).map_err(err)?;
        ws.autofilter(0, 0, rows.len() as u32, headers.len() as u16 - 1)
            .map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
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
fn cell_text(d: &Data) -> String {
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
        Data::Bool(b) => {
            if *b {
                "是".into()
            } else {
                "否".into()
            }
        }
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            format!("{}", v.trunc() as i64)
        }
        Data::DateTimeIso(s) => s.clone(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The first sheet of an uploaded workbook as rows of text. Refuses anything that is
/// not a readable .xlsx with a Chinese message instead of failing.
pub fn read_first_sheet(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    // An .xlsx is a zip: check the magic before handing it to the parser.
    if bytes.len() < 4 || &bytes[..4] != b"PK\x03\x04" {
        return Err(AppError::invalid(
            "文件不是有效的 Excel（.xlsx）文件，请使用下载的模板填写后上传",
        ));
    }
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec()))
        .map_err(|_| AppError::invalid("无法读取该 Excel 文件，文件可能已损坏"))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| AppError::invalid("Excel 文件中没有工作表"))?
        .map_err(|_| AppError::invalid("无法读取第一个工作表，文件可能已损坏"))?;
    Ok(range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = write_sheet(
            "党员",
            &["姓名", "身份证号"],
            &[vec!["张三".into(), "11010519491231002X".into()]],
        )
        .expect("write");
        let rows = read_first_sheet(&bytes).expect("read");
        assert_eq!(rows[0], vec!["姓名", "身份证号"]);
        assert_eq!(rows[1], vec!["张三", "11010519491231002X"]);
    }

    #[test]
    fn refuses_non_xlsx() {
        assert!(read_first_sheet(b"hello").is_err());
        assert!(read_first_sheet(b"PK\x03\x04garbage").is_err());
    }
}
