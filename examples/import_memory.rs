//! Peak memory and time of reading an uploaded workbook (`yaoshi::xlsx::read_first_sheet`,
//! what both imports call first) for hostile files and real ones. Each file is read in a
//! child process of its own, which reads the file into memory, resets its peak resident
//! size (/proc/self/clear_refs), reads the sheet and reports how far VmHWM rose above the
//! resident size it had before: the memory the reading added beyond the file itself.
//!
//! cargo run --release --example import_memory [-- [--dense] [FILE.xlsx …]]
//!
//! `--dense` also reads each file as the code did before (calamine's dense range); files
//! given are measured after the built-in ones. Prints a Markdown table (BENCHMARKS.md,
//! "Import memory"; `bash bench/import_memory.sh` reruns it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use calamine::{Data, Reader, Xlsx};
use yaoshi::xlsx::samples;

/// A field of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The reading before this change: every cell of the dense range as text.
fn dense(bytes: &[u8]) -> Result<usize, String> {
    let mut wb: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|e| e.to_string())?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or("no sheet")?
        .map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(rows.len())
}

/// In the child: read `path`, print "added_kB<TAB>seconds<TAB>outcome".
fn child(path: &Path, old: bool) {
    let bytes = std::fs::read(path).expect("read the file");
    // Peak resident size := resident size now, so that VmHWM tells what reading adds.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = if reset {
        status_kb("VmRSS")
    } else {
        status_kb("VmHWM")
    };
    let t0 = Instant::now();
    let outcome = if old {
        match dense(&bytes) {
            Ok(n) => format!("read, {n} rows"),
            Err(e) => format!("error: {e}"),
        }
    } else {
        match yaoshi::xlsx::read_first_sheet(&bytes) {
            Ok(rows) => format!(
                "read, {} rows, {} cells",
                rows.len(),
                rows.iter()
                    .map(|r| r.iter().filter(|c| !c.is_empty()).count())
                    .sum::<usize>()
            ),
            Err(e) => format!("refused: {e}"),
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    let added = status_kb("VmHWM").saturating_sub(before);
    println!("{added}\t{secs:.2}\t{outcome}");
}

/// 30,000 members as a unit's ledger has them, in the import template's 16 columns.
fn members(n: u32) -> Vec<u8> {
    let surnames = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴'];
    let given = [
        '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳',
    ];
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let s = surnames[(i % 10) as usize];
            let g1 = given[(i / 10 % 12) as usize];
            let g2 = given[(i / 120 % 12) as usize];
            let year = 1960 + i % 40;
            let month = 1 + i % 12;
            let day = 1 + i % 28;
            vec![
                format!("{s}{g1}{g2}"),
                format!("320102{year}{month:02}{day:02}{:03}X", i % 1000),
                if i % 2 == 0 { "男" } else { "女" }.into(),
                "汉族".into(),
                format!("{year}-{month:02}-{day:02}"),
                format!("138{:08}", i),
                "大学本科".into(),
                format!("{}-07-01", year + 25),
                "正式党员".into(),
                format!("{}-07-01", year + 26),
                "科员".into(),
                "否".into(),
                "正常".into(),
                format!("市第{}局", i / 250 + 1),
                format!("第{}党支部", i / 20 % 12 + 1),
                String::new(),
            ]
        })
        .collect();
    yaoshi::xlsx::write_sheet("党员", &yaoshi::org::import::MEMBER_HEADERS, &rows)
        .expect("write the members")
}

/// Within every limit but as large as they allow: 500,000 shared strings of 30 bytes (a
/// 23 MB table), then cells referencing them until the text limit is reached.
fn fullest_shared_strings() -> samples::Result<Vec<u8>> {
    let mut p = samples::Package::new()?;
    p.sheet("", |w| {
        for r in 0..10_000u32 {
            write!(w, r#"<row r="{}">"#, r + 1)?;
            for c in 0..100u32 {
                write!(w, r#"<c t="s"><v>{}</v></c>"#, (r * 100 + c) % 500_000)?;
            }
            w.write_all(b"</row>")?;
        }
        Ok(())
    })?;
    p.shared_strings(|w| {
        for i in 0..500_000u32 {
            write!(w, "<si><t>{i:030}</t></si>")?;
        }
        Ok(())
    })?;
    p.finish()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let old = args.get(1).map(String::as_str) == Some("dense");
        child(Path::new(args.get(2).expect("path")), old);
        return;
    }
    let with_dense = args.iter().any(|a| a == "--dense");
    let dir = std::env::temp_dir().join(format!("yaoshi-import-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut cases: Vec<(String, PathBuf)> = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(format!("{}.xlsx", cases.len()));
        std::fs::write(&path, bytes).expect("write the case");
        cases.push((name.to_string(), path));
    };
    eprintln!("writing the files…");
    add("30,000 members (16 columns)", members(30_000));
    add("62,000 members (16 columns)", members(62_000));
    add(
        "cells at A1 and XFD1048576 only",
        samples::sparse(false).expect("x"),
    );
    add(
        "the same declaring `<dimension ref=\"A1:XFD1048576\"/>`",
        samples::sparse(true).expect("x"),
    );
    let gigabyte = samples::huge_shared_string(1 << 30).expect("x");
    let mut lying = gigabyte.clone();
    samples::declare_size(&mut lying, "xl/sharedStrings.xml", 1 << 20);
    add("one 1 GB shared string", gigabyte);
    add("the same declaring 1 MB", lying);
    add(
        "1,000,000 rows of one number",
        samples::numbers(1_000_000, 1).expect("x"),
    );
    add(
        "10,000 rows × 100 numbers (1,000,000 cells, the most allowed)",
        samples::numbers(10_000, 100).expect("x"),
    );
    add(
        "a 2,000-character shared string in 4,000 cells",
        samples::repeated_shared_string(2_000, 4_000).expect("x"),
    );
    add(
        "500,000 shared strings of 30 bytes, 1,000,000 cells using them",
        fullest_shared_strings().expect("x"),
    );
    add(
        "160,000 entries in the package",
        samples::many_entries(160_000).expect("x"),
    );
    add(
        "2 MB of end-of-directory records",
        samples::directory_end_flood(2 << 20),
    );
    for (i, extra) in args.iter().filter(|a| !a.starts_with("--")).enumerate() {
        cases.push((format!("given file {}", i + 1), PathBuf::from(extra)));
    }
    let me = std::env::current_exe().expect("exe");
    let mut header = String::from("| file | size | added peak RSS | time | outcome |");
    let mut rule = String::from("|---|---|---|---|---|");
    if with_dense {
        header.push_str(" before: added peak RSS | before: time | before: outcome |");
        rule.push_str("---|---|---|");
    }
    println!("{header}\n{rule}");
    for (name, path) in &cases {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let run = |mode: &str| -> String {
            eprintln!("{mode}: {name}");
            let out = Command::new(&me)
                .args(["--child", mode])
                .arg(path)
                .output()
                .expect("run the child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let mut fields = stdout.trim().splitn(3, '\t');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(kb), Some(secs), Some(outcome)) if out.status.success() => {
                    let mb = kb.parse::<f64>().unwrap_or(0.0) / 1024.0;
                    format!("{mb:.1} MB | {secs} s | {outcome}")
                }
                _ => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    // The first line says why ("memory allocation of … failed").
                    let why = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    format!("— | — | **aborted** ({}): {}", out.status, why.trim())
                }
            }
        };
        let mut line = format!(
            "| {name} | {:.1} KB | {} |",
            size as f64 / 1024.0,
            run("new")
        );
        if with_dense {
            line.push_str(&format!(" {} |", run("dense")));
        }
        println!("{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
