//! The command line: `yaoshi [serve|migrate|admin|demo|import|export|backup|restore|remind|audit|keys]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;

#[derive(Parser)]
#[command(name = "yaoshi", version, about = "钥匙 Yaoshi：机关党建分类指导系统")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Account administration.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Generate deterministic demo data into an empty database.
    Demo {
        #[arg(long, value_enum, default_value = "small")]
        scale: crate::demo::Scale,
    },
    /// Import members (or units and branches) from an .xlsx file, all or nothing.
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: PathBuf,
    },
    /// Export members or orgs to an .xlsx file (ID numbers and phones masked unless --unmasked).
    Export {
        #[arg(value_enum)]
        kind: ImportKind,
        file: PathBuf,
        /// Full ID numbers and phones (for moving data between installations); audited.
        #[arg(long)]
        unmasked: bool,
    },
    /// Write one backup file: the database and the file store, checksummed (keys excluded).
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        action: Option<BackupAction>,
        /// Where to write it (default: <backup_dir>/yaoshi-YYYYMMDD-HHMMSS.tar.zst).
        file: Option<PathBuf>,
    },
    /// Restore a backup into an empty data dir (and, for PostgreSQL, an empty database).
    Restore {
        file: PathBuf,
        /// The new data dir: must be empty or not exist.
        #[arg(long)]
        data_dir: PathBuf,
        /// For a PostgreSQL backup: an empty database, e.g. postgres://user@host/newdb.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Run the daily reminder pass now (the server runs it daily by itself).
    Remind {
        /// The day to run it for, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// The volunteer bank's hours ledger.
    Ledger {
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Keys for ID numbers and phones encrypted at rest (see docs/CRYPTO.md).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Add a new random key to the key file and make it current (restart every instance after).
    New,
    /// Re-encrypt every member not under the current key, batch by batch; a rerun resumes.
    Rotate {
        /// Rows per transaction (each with its audit entry).
        #[arg(long, default_value_t = crate::system::keys::DEFAULT_BATCH)]
        batch: usize,
        /// Stop after this many rows (rotate in portions).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Count ID numbers and phones by the key they are encrypted under.
    Status,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    Members,
    Orgs,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a committee admin account; prints its one-time password.
    CreateUser {
        username: String,
        #[arg(long, default_value = "管理员")]
        name: String,
    },
    /// Reset a user's password to a one-time password and end their sessions.
    ResetPassword { username: String },
    /// List the 双人确认 requests waiting for a second admin.
    Pending,
    /// Confirm a 双人确认 request; only while no security or audit admin exists (a new
    /// installation). Prints the second half of the one-time password.
    Confirm { id: i64 },
    /// Lift a user name's login locks (from every address) and its guard, as the security
    /// admin can; audited as user.unlock.
    Unlock { username: String },
}

#[derive(Subcommand)]
enum BackupAction {
    /// Check a backup file completely without restoring it.
    Verify { file: PathBuf },
}

#[derive(Subcommand)]
enum LedgerAction {
    /// Recompute every balance from the movements, check every transfer and the whole
    /// ledger sum to zero and the served-hours aggregates; exit 3 on any mismatch.
    Verify,
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the hash chain and every archive file; report the first broken link.
    Verify,
    /// Move records older than the retention period (security policy, default 365 days)
    /// into sealed archive files now, as the daily pass does.
    Archive,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_verified(file: &std::path::Path, v: &crate::system::backup::Verified) {
    let m = &v.manifest;
    let (files, file_bytes) = m.store_totals();
    println!(
        "备份文件完整：{}（{}），SM3 校验值 {}",
        file.display(),
        crate::system::backup::human_size(v.size),
        v.digest
    );
    println!(
        "  创建于 {}，{} 数据库，钥匙 {}（结构版本 {}），数据表 {} 张共 {} 行，文件库 {files} 个文件 {}",
        m.created_at,
        if m.backend == "postgres" { "PostgreSQL" } else { "SQLite" },
        m.app_version,
        m.schema_version,
        m.tables.len(),
        m.total_rows(),
        crate::system::backup::human_size(file_bytes)
    );
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let json = std::env::var("YAOSHI_LOG_FORMAT").is_ok_and(|v| v == "json");
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    tracing::debug!(?config, "configuration");
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::app::serve(config).await?,
        Command::Migrate => {
            crate::app::state(config).await?;
            println!("数据库迁移完成");
        }
        Command::Admin { action } => {
            let state = crate::app::state(config).await?;
            crate::bootstrap::seed_reference_data(&state).await?;
            let actor = crate::audit::Actor::cli();
            match action {
                AdminAction::CreateUser { username, name } => {
                    let password = crate::auth::password::generate();
                    crate::auth::store::create_user(
                        &state,
                        &actor,
                        crate::auth::store::NewUser {
                            username: username.clone(),
                            display_name: name,
                            password: password.clone(),
                            must_change_password: true,
                        },
                        &[crate::auth::store::NewGrant {
                            role: "committee".into(),
                            unit_id: None,
                            org_id: None,
                            member_id: None,
                            community_id: None,
                        }],
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("已创建用户 {username}，一次性密码：{password}（首次登录须修改）");
                }
                AdminAction::ResetPassword { username } => {
                    let user = crate::auth::store::find_by_username(&state, &username)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .ok_or_else(|| anyhow::anyhow!("用户 {username} 不存在"))?;
                    let password = crate::auth::password::generate();
                    crate::auth::store::set_password(
                        &state,
                        &actor,
                        user.user_id,
                        password.clone(),
                        true,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    crate::auth::session::sign_out_everywhere(&state, user.user_id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    crate::auth::throttle::clear_account(&state, &username)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("已重置 {username} 的密码，一次性密码：{password}（登录后须修改）");
                }
                AdminAction::Pending => {
                    let rows = crate::system::approvals::pending(&state)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    if rows.is_empty() {
                        println!("没有待确认的申请");
                    }
                    for a in rows {
                        println!(
                            "#{} {} {}（{}） 申请人 {} {}",
                            a.approval_id,
                            a.action.label(),
                            a.username,
                            a.role_label(),
                            a.requested_by_name,
                            a.requested()
                        );
                    }
                }
                AdminAction::Confirm { id } => {
                    let c = crate::system::approvals::confirm(
                        &state,
                        crate::system::approvals::Decider::CommandLine,
                        id,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    match c.second_half {
                        Some(h) => println!(
                            "已确认申请 #{id}（账号 {}）。初始密码后半段：{h}（请当面交给本人，前半段由申请人交给本人）",
                            c.username
                        ),
                        None => println!("已确认申请 #{id}（账号 {}）", c.username),
                    }
                }
                AdminAction::Unlock { username } => {
                    match crate::auth::throttle::unlock(&state, &actor, &username).await {
                        Ok(n) => {
                            println!("已解除 {username} 的登录锁定（清除 {n} 次失败记录）")
                        }
                        Err(crate::error::AppError::NotFound) => {
                            println!("用户名 {username} 没有登录失败记录，无需解锁")
                        }
                        Err(e) => return Err(anyhow::anyhow!("{e}")),
                    }
                }
            }
        }
        Command::Demo { scale } => {
            let state = crate::app::state(config).await?;
            crate::demo::run(&state, scale).await?;
        }
        Command::Import { kind, file } => {
            let state = crate::app::state(config).await?;
            crate::bootstrap::seed_reference_data(&state).await?;
            let bytes = std::fs::read(&file)?;
            let actor = crate::audit::Actor::cli();
            let outcome = match kind {
                ImportKind::Members => {
                    crate::org::import::import_members(
                        &state,
                        &actor,
                        &crate::auth::Scope::everything(),
                        &bytes,
                    )
                    .await
                }
                ImportKind::Orgs => {
                    crate::org::import::import_orgs(
                        &state,
                        &actor,
                        &crate::auth::Scope::everything(),
                        &bytes,
                    )
                    .await
                }
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            match outcome {
                crate::org::import::Outcome::Imported {
                    created,
                    unchanged,
                    updated,
                } => {
                    println!(
                        "导入完成：新增 {created} 条，更新 {updated} 条，未变化 {unchanged} 条"
                    );
                }
                crate::org::import::Outcome::Rejected { errors, .. } => {
                    eprintln!("导入未执行：发现 {} 处错误（未写入任何数据）", errors.len());
                    for e in errors.iter().take(50) {
                        eprintln!("  第{}行 {}：{}", e.row, e.column, e.message);
                    }
                    return Ok(ExitCode::from(2));
                }
            }
        }
        Command::Export {
            kind,
            file,
            unmasked,
        } => {
            let state = crate::app::state(config).await?;
            let bytes = match kind {
                ImportKind::Members => crate::org::members::export_all(&state, unmasked).await,
                ImportKind::Orgs => crate::org::orgs::export_all(&state).await,
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&file, bytes)?;
            println!("已导出到 {}", file.display());
        }
        Command::Remind { date } => {
            let state = crate::app::state(config).await?;
            let today = match date {
                Some(d) => {
                    crate::text::parse_date(&d).map_err(|e| anyhow::anyhow!("日期无效：{e}"))?
                }
                None => crate::clock::today(),
            };
            let started = std::time::Instant::now();
            let n = crate::orglife::reminders::run(&state, today)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "提醒已生成：新增 {n} 条（用时 {:.2} 秒）",
                started.elapsed().as_secs_f64()
            );
        }
        Command::Backup {
            action: Some(BackupAction::Verify { file }),
            ..
        } => {
            let started = std::time::Instant::now();
            let v = crate::system::backup::verify(&file).await?;
            print_verified(&file, &v);
            let (key_path, _) = config.key_file_path();
            match crate::crypto::KeyRing::load(&key_path) {
                Ok(keys) => {
                    crate::system::backup::check_seal(&v.manifest, &keys)?;
                    println!("清单签名有效：本系统（{}）生成的备份", key_path.display());
                }
                Err(_) => println!(
                    "未找到密钥文件 {}，未核验清单签名（恢复时会核验）",
                    key_path.display()
                ),
            }
            println!("用时 {:.2} 秒", started.elapsed().as_secs_f64());
        }
        Command::Backup { action: None, file } => {
            let state = crate::app::state(config).await?;
            let started = std::time::Instant::now();
            let c =
                crate::system::backup::create(&state, file, &crate::audit::Actor::cli()).await?;
            let m = &c.manifest;
            let (files, file_bytes) = m.store_totals();
            let db_bytes = m
                .entries
                .iter()
                .find(|e| e.path == m.database_entry())
                .map_or(0, |e| e.size);
            println!("已备份到 {}", c.path.display());
            println!(
                "  大小 {}（数据库 {}，文件库 {files} 个文件 {}；数据表 {} 张共 {} 行）",
                crate::system::backup::human_size(c.size),
                crate::system::backup::human_size(db_bytes),
                crate::system::backup::human_size(file_bytes),
                m.tables.len(),
                m.total_rows()
            );
            println!("  SM3 校验值 {}", c.digest);
            println!("  用时 {:.2} 秒", started.elapsed().as_secs_f64());
            for w in &c.warnings {
                println!("  注意：{w}");
            }
            println!("注意：{}", crate::system::backup::archive::KEYS_NOTE);
        }
        Command::Restore {
            file,
            data_dir,
            database_url,
        } => {
            let started = std::time::Instant::now();
            let to = crate::system::backup::RestoreTo {
                data_dir,
                database_url,
            };
            let r =
                crate::system::backup::restore(&config, &file, &to, &crate::audit::Actor::cli())
                    .await?;
            print_verified(&file, &r.verified);
            println!("已恢复到 {}", r.data_dir.display());
            match to.database_url {
                None => println!(
                    "  启动时设置 YAOSHI_DATA_DIR={}（数据库为其中的 yaoshi.db）",
                    r.data_dir.display()
                ),
                Some(url) => println!(
                    "  启动时设置 DATABASE_URL={} 与 YAOSHI_DATA_DIR={}",
                    crate::config::redact_url(&url),
                    r.data_dir.display()
                ),
            }
            println!("  用时 {:.2} 秒", started.elapsed().as_secs_f64());
            println!(
                "请把加密密钥放回原处（数据目录下的 yaoshi.key，或 YAOSHI_KEY_FILE 指定的位置）：密钥不在备份中。"
            );
        }
        Command::Keys { action } => return keys(config, action).await,
        Command::Ledger {
            action: LedgerAction::Verify,
        } => {
            let state = crate::app::state(config).await?;
            let started = std::time::Instant::now();
            let v = crate::volunteer::ledger::verify(&state.db.pool).await?;
            println!(
                "时长台账：{} 个账户，{} 笔记账，{} 条分录",
                v.accounts, v.transfers, v.movements
            );
            if v.ok() {
                println!(
                    "核对通过：每个账户余额等于其分录之和，每笔记账与全账合计为零，月度汇总与记账一致（用时 {:.2} 秒）",
                    started.elapsed().as_secs_f64()
                );
            } else {
                println!("核对失败，发现 {} 处问题：", v.problems.len());
                for p in &v.problems {
                    println!("  {p}");
                }
                return Ok(ExitCode::from(3));
            }
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => {
            let state = crate::app::state(config).await?;
            let mut broken = false;
            match crate::audit::verify(&state.db).await? {
                crate::audit::Verdict::Intact { rows, archived } => {
                    println!("审计日志完整：共 {rows} 条，哈希链无断裂");
                    if archived > 0 {
                        println!("已归档 {archived} 条，各归档与日志首尾相接");
                    }
                }
                crate::audit::Verdict::Broken { audit_id, reason } => {
                    let why = crate::audit::reason_label(reason);
                    println!("审计日志被篡改：第一处断裂在 audit_id = {audit_id}，{why}");
                    broken = true;
                }
            }
            let archives = crate::audit::archive::list(&state.db).await?;
            let problems = crate::audit::archive::check_files(&state).await?;
            for (id, p) in &problems {
                println!("归档 #{id} 校验失败：{p}");
            }
            if !archives.is_empty() && problems.is_empty() {
                println!(
                    "{} 个归档文件的签名、哈希链和登记信息均校验通过",
                    archives.len()
                );
            }
            if broken || !problems.is_empty() {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Audit {
            action: AuditAction::Archive,
        } => {
            let state = crate::app::state(config).await?;
            let made = crate::system::audit::archive_due(
                &state,
                crate::clock::now(),
                &crate::audit::Actor::cli(),
            )
            .await?;
            if made.is_empty() {
                println!("没有超过保留期的审计记录，无需归档");
            }
            for a in made {
                println!(
                    "归档 #{}：第 {} 至 {} 条，共 {} 条（{} 至 {}），文件 {} 字节",
                    a.archive_id,
                    a.first_id,
                    a.last_id,
                    a.rows,
                    crate::clock::fmt_time(a.from_at),
                    crate::clock::fmt_time(a.to_at),
                    a.size
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn keys(config: Config, action: KeysAction) -> anyhow::Result<ExitCode> {
    use crate::crypto::KeyFile;
    use crate::system::keys as store;
    let (path, _) = config.key_file_path();
    match action {
        KeysAction::New => {
            if path.exists() {
                let mut file = KeyFile::read(&path)?;
                let id = file.add_key();
                file.write(&path)?;
                println!(
                    "已生成新密钥 {id} 并设为当前密钥（密钥文件 {}）。",
                    path.display()
                );
            } else {
                let file = KeyFile::generate();
                if !file.create_new(&path)? {
                    anyhow::bail!("密钥文件 {} 已被另一进程创建，请重试", path.display());
                }
                println!(
                    "已创建密钥文件 {}，当前密钥 {}。",
                    path.display(),
                    file.current
                );
            }
            println!(
                "请备份新的密钥文件，把它同步到每个实例并重启服务，然后运行 yaoshi keys rotate。"
            );
        }
        KeysAction::Rotate { batch, limit } => {
            let state = crate::app::state(config).await?;
            let keys = &state.keys;
            println!(
                "用当前密钥 {} 重新加密（密钥文件 {}），每批 {batch} 名党员……",
                keys.current_id(),
                keys.path().display()
            );
            let started = std::time::Instant::now();
            let report = store::pass(
                &state.db,
                keys,
                &crate::audit::Actor::cli(),
                &store::PassOptions {
                    only_plaintext: false,
                    batch,
                    stop_after: limit,
                },
                |done, total| println!("  已处理 {done}/{total}"),
            )
            .await?;
            println!(
                "完成：重新加密 {} 名党员，因同时被修改而跳过 {} 名，尚余 {} 名未使用当前密钥（用时 {:.1} 秒）。",
                report.rewritten,
                report.skipped,
                report.remaining,
                started.elapsed().as_secs_f64()
            );
            if report.remaining > 0 {
                println!("再次运行 yaoshi keys rotate 可继续。");
            } else {
                let users =
                    store::totp_pass(&state.db, keys, &crate::audit::Actor::cli(), false).await?;
                println!("重新加密 {users} 名用户的双因素认证密钥。");
            }
        }
        KeysAction::Status => {
            let db = crate::db::Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let ring = if path.exists() {
                Some(crate::crypto::KeyRing::load(&path)?)
            } else {
                None
            };
            let s = store::status(&db, ring.as_ref()).await?;
            match &ring {
                Some(r) => println!(
                    "密钥文件：{}（当前密钥 {}）",
                    path.display(),
                    r.current_id()
                ),
                None => println!("密钥文件：{}（不存在）", path.display()),
            }
            println!("党员 {} 名", s.members);
            for (id, ids, phones, present) in &s.per_key {
                let mark = match (&ring, present) {
                    (Some(r), true) if r.current_id() == *id => "（当前）",
                    (_, true) => "",
                    (_, false) => "（密钥文件中没有！）",
                };
                println!("密钥 {id}{mark}：身份证号 {ids}，手机号 {phones}");
            }
            println!(
                "未加密：身份证号 {}，手机号 {}",
                s.plaintext_ids, s.plaintext_phones
            );
            println!("手机号为空（不加密）：{}", s.empty_phones);
            if s.without_hash > 0 {
                println!("缺少身份证号索引：{}（下次启动时补齐）", s.without_hash);
            }
            if s.per_key.iter().any(|(_, _, _, present)| !present) {
                return Ok(ExitCode::from(4));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
