//! The keyed audit chain against someone who can write the database: every edit,
//! insertion, deletion, truncation and recomputation (plain SHA-256, a wrong key, even the
//! right key below a checkpoint) is detected by `switchyard audit verify` (the real binary)
//! and by `POST /api/v1/audit/verify`; a forged checkpoint is detected; a good chain,
//! keyed after an upgrade from an unkeyed one, verifies. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use switchyard_server::audit::checkpoint::{self, CheckpointSigner, CheckpointVerifier};
use switchyard_server::audit::checkpoint_job::{self, CheckpointSettings};
use switchyard_server::audit::{AuditKey, AuditKeys, verify_all};
use switchyard_server::crypto::MasterKey;
use switchyard_server::db::Db;
use switchyard_server::state::AppState;
use switchyard_server::store::audit_log::{self, Head};
use switchyard_server::store::{NewApp, Page, SecretsMode, Store};
use switchyard_server::util::{random_hex, sha256_hex};
use tower::ServiceExt;

use common::ctx;

/// A database upgraded from an unkeyed chain: some SHA-256 records, the switch-over, keyed
/// records, a checkpoint, and keyed records after it.
struct Fixture {
    backend: &'static str,
    url: String,
    store: Store,
    key_b64: String,
    keys: AuditKeys,
    public_key: String,
    dir: PathBuf,
    /// The checkpoint signing key's file.
    signing_key_file: PathBuf,
    settings: CheckpointSettings,
    router: Router,
    token: String,
    keyed_from: i64,
    checkpoint: i64,
}

async fn fresh_urls() -> Vec<(&'static str, String)> {
    let mut urls = vec![("sqlite", common::sqlite_url())];
    if let Some(url) = common::postgres_url().await {
        urls.push(("postgres", url));
    }
    urls
}

async fn create_app(store: &Store, tenant: &str, name: &str) {
    let t = store.tenant(tenant);
    let root = t.list_departments(Page::default()).await.unwrap()[0]
        .id
        .clone();
    t.create_app(
        &ctx(),
        NewApp {
            department_id: root,
            name: name.into(),
            allowed_models: None,
            secrets_mode: SecretsMode::None,
        },
    )
    .await
    .unwrap();
}

async fn head(store: &Store) -> Head {
    let mut conn = store.db.pool.acquire().await.unwrap();
    audit_log::head(&mut conn).await.unwrap()
}

async fn fixture(backend: &'static str, url: String) -> Fixture {
    // Before the upgrade: the unkeyed chain.
    let legacy = common::store(&url).await;
    let a = legacy
        .bootstrap(&ctx(), "acme", "admin", "x")
        .await
        .unwrap();
    create_app(&legacy, &a.tenant.id, "before-1").await;
    create_app(&legacy, &a.tenant.id, "before-2").await;
    assert_eq!(head(&legacy).await.keyed_from, None, "{backend}");

    // The upgrade: a key, the switch-over record, then keyed records.
    let key_b64 = AuditKey::generate_base64();
    let keys = AuditKeys::parse(&key_b64).unwrap();
    let db = Db::connect(&url)
        .await
        .unwrap()
        .with_audit_keys(Some(keys.clone()));
    let store = Store::new(db);
    assert_eq!(
        store.adopt_audit_key(&ctx()).await.unwrap(),
        Some("audit.key.enable")
    );
    assert_eq!(store.adopt_audit_key(&ctx()).await.unwrap(), None);
    let keyed_from = head(&store).await.keyed_from.expect("switched over");
    for i in 0..3 {
        create_app(&store, &a.tenant.id, &format!("keyed-{i}")).await;
    }

    // A checkpoint, then records after it.
    let (private, public_key) = CheckpointSigner::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("sy-audit-cp-{}", random_hex(6)));
    let signing_key_file = dir.with_extension("key");
    std::fs::write(&signing_key_file, &private).unwrap();
    let settings = CheckpointSettings {
        signer: Arc::new(CheckpointSigner::from_base64(&private).unwrap()),
        dir: Some(dir.clone()),
        url: None,
        every: Duration::from_secs(3600),
    };
    let checkpoint = checkpoint_job::checkpoint_now(&store, &settings)
        .await
        .unwrap()
        .expect("a first checkpoint")
        .seq;
    for i in 0..3 {
        create_app(&store, &a.tenant.id, &format!("after-{i}")).await;
    }

    let mut state = AppState::new(
        store.clone(),
        Some(MasterKey::from_base64(&MasterKey::generate_base64()).unwrap()),
    );
    state.audit_checkpoints = Some(Arc::new(
        CheckpointVerifier::new(&public_key, &dir).unwrap(),
    ));
    let router = switchyard_server::api::router(state);
    Fixture {
        backend,
        url,
        store,
        key_b64,
        keys,
        public_key,
        dir,
        signing_key_file,
        settings,
        router,
        token: a.token,
        keyed_from,
        checkpoint,
    }
}

impl Fixture {
    fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier::new(&self.public_key, &self.dir).unwrap()
    }

    /// The library's verdict: the chain with the keys and the checkpoints.
    async fn verify(&self) -> Option<String> {
        let mut conn = self.store.db.pool.acquire().await.unwrap();
        verify_all(&mut conn, None, Some(&self.keys), Some(&self.verifier()))
            .await
            .unwrap()
            .0
            .problem
    }

    /// The chain alone (no checkpoints).
    async fn walk(&self) -> Option<String> {
        let mut conn = self.store.db.pool.acquire().await.unwrap();
        audit_log::verify_keyed(&mut conn, None, Some(&self.keys))
            .await
            .unwrap()
            .problem
    }

    /// The real binary: `switchyard audit verify` with the key and the checkpoints.
    fn cli(&self, extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.env("SWITCHYARD_DATABASE_URL", &self.url)
            .env("SWITCHYARD_AUDIT_KEY", &self.key_b64)
            .env_remove("SWITCHYARD_AUDIT_KEY_FILE")
            .env_remove("SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE")
            .env_remove("SWITCHYARD_AUDIT_CHECKPOINT_DIR")
            .args([
                "audit",
                "verify",
                "--checkpoint-dir",
                self.dir.to_str().unwrap(),
                "--checkpoint-public-key",
                &self.public_key,
            ]);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    async fn api(&self) -> Value {
        let (status, body) = self.api_status().await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", self.backend);
        body
    }

    async fn api_status(&self) -> (StatusCode, Value) {
        let req = common::app::request("POST", "/api/v1/audit/verify", Some(&self.token), None);
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Detected by the library, the binary and the API; the library's message contains
    /// `needle`.
    async fn assert_detected(&self, case: &str, needle: &str) {
        self.assert_detected_offline(case, needle).await;
        let answer = self.api().await;
        assert_eq!(
            answer["intact"],
            json!(false),
            "{} {case}: api {answer}",
            self.backend
        );
    }

    /// Detected by the library and the binary.
    async fn assert_detected_offline(&self, case: &str, needle: &str) {
        let problem = self.verify().await;
        assert!(
            problem.as_deref().is_some_and(|p| p.contains(needle)),
            "{} {case}: {problem:?}",
            self.backend
        );
        let out = self.cli(&[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && stderr.contains("audit chain broken")
                && stderr.contains(needle),
            "{} {case}: cli: {stderr} / {}",
            self.backend,
            String::from_utf8_lossy(&out.stdout)
        );
    }

    async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(&self.store.db.pool).await.unwrap();
    }

    async fn rows_from(&self, seq: i64) -> Vec<sqlx::any::AnyRow> {
        sqlx::query(
            "SELECT seq, tenant_id, actor, role, action, target, before_digest, after_digest, \
             source, at, prev_hash FROM audit_log WHERE seq >= $1 ORDER BY seq",
        )
        .bind(seq)
        .fetch_all(&self.store.db.pool)
        .await
        .unwrap()
    }

    /// What an attacker with write access does after an edit: recompute every record
    /// from `from` to `to` (inclusive; the head when `None`) and the head, with plain
    /// SHA-256 (`key` `None`, the key id cleared) or HMAC under `key` naming `key_id`.
    async fn recompute(&self, from: i64, to: Option<i64>, key: Option<(&AuditKey, &str)>) {
        let rows = self.rows_from(from).await;
        let mut prev: Option<String> = None;
        let mut last = None;
        for row in rows {
            let seq: i64 = row.get("seq");
            if to.is_some_and(|to| seq > to) {
                break;
            }
            let prev_hash = prev.clone().unwrap_or_else(|| row.get("prev_hash"));
            let fields = (
                seq,
                row.get::<Option<String>, _>("tenant_id"),
                row.get::<String, _>("actor"),
                row.get::<String, _>("role"),
                row.get::<String, _>("action"),
                row.get::<String, _>("target"),
                row.get::<Option<String>, _>("before_digest"),
                row.get::<Option<String>, _>("after_digest"),
                row.get::<String, _>("source"),
                row.get::<i64, _>("at"),
            );
            let (s, t, ac, ro, an, ta, b, af, so, at) = fields;
            let hash = match key {
                None => sha256_hex(
                    json!([s, t, ac, ro, an, ta, b, af, so, at, prev_hash])
                        .to_string()
                        .as_bytes(),
                ),
                Some((key, id)) => key.mac(
                    &prev_hash,
                    &json!([s, t, ac, ro, an, ta, b, af, so, at, id]).to_string(),
                ),
            };
            sqlx::query(
                "UPDATE audit_log SET prev_hash = $1, hash = $2, key_id = $3 WHERE seq = $4",
            )
            .bind(&prev_hash)
            .bind(&hash)
            .bind(key.map(|(_, id)| id.to_owned()))
            .bind(seq)
            .execute(&self.store.db.pool)
            .await
            .unwrap();
            prev = Some(hash);
            last = Some(seq);
        }
        if to.is_none() {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(last.unwrap())
                .bind(prev.unwrap())
                .execute(&self.store.db.pool)
                .await
                .unwrap();
        }
    }

    /// `switchyard serve` with the key and the checkpoints; stopped after 10 s if it
    /// does start.
    fn serve_briefly(&self) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .env("SWITCHYARD_DATABASE_URL", &self.url)
            .env("SWITCHYARD_AUDIT_KEY", &self.key_b64)
            .env(
                "SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE",
                &self.signing_key_file,
            )
            .env("SWITCHYARD_AUDIT_CHECKPOINT_DIR", &self.dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
        }
        child.wait_with_output().unwrap()
    }

    async fn cleanup(self) {
        self.store.db.pool.close().await;
        std::fs::remove_dir_all(&self.dir).ok();
        std::fs::remove_file(&self.signing_key_file).ok();
    }
}

async fn each(case: &str, f: impl AsyncFn(&Fixture)) {
    for (backend, url) in fresh_urls().await {
        let fx = fixture(backend, url).await;
        // Every case starts from a chain that verifies, with a checkpoint in the middle.
        assert_eq!(fx.verify().await, None, "{backend} {case}: fixture");
        f(&fx).await;
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn a_good_keyed_chain_verifies_everywhere() {
    each("good", async |fx| {
        let h = head(&fx.store).await;
        assert!(fx.keyed_from > 1 && fx.checkpoint > fx.keyed_from && h.seq > fx.checkpoint);
        // Records before the switch-over keep SHA-256 (no key id); from it on, the key's id.
        let ids: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT seq, key_id FROM audit_log ORDER BY seq")
                .fetch_all(&fx.store.db.pool)
                .await
                .unwrap();
        for (seq, id) in &ids {
            let expected = (*seq >= fx.keyed_from).then(|| fx.keys.current().id().to_owned());
            assert_eq!(id, &expected, "{} record {seq}", fx.backend);
        }
        let out = fx.cli(&[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("audit chain intact"), "{stdout}");
        assert!(
            stdout.contains(&format!("keyed from record {}", fx.keyed_from)),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("the last signed record {}", fx.checkpoint)),
            "{stdout}"
        );
        let answer = fx.api().await;
        assert_eq!(answer["intact"], json!(true), "{answer}");
        // Without the key, the keyed records cannot be verified (and the binary says why).
        let mut conn = fx.store.db.pool.acquire().await.unwrap();
        let unkeyed = audit_log::verify(&mut conn, None)
            .await
            .unwrap()
            .problem
            .unwrap();
        assert!(unkeyed.contains("give the audit key"), "{unkeyed}");
        let out = fx.cli(&[("SWITCHYARD_AUDIT_KEY", &AuditKey::generate_base64())]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("not among the keys given"));
        // A writer without the key is refused once the chain is keyed.
        let keyless = common::store(&fx.url).await;
        let t = keyless.tenant_by_name("acme").await.unwrap();
        let refused = keyless
            .tenant(&t.id)
            .create_department(&ctx(), "ops", None)
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("keyed from record"),
            "{refused}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_edited_record_is_detected() {
    each("edit", async |fx| {
        let seq = head(&fx.store).await.seq - 1;
        fx.exec(&format!(
            "UPDATE audit_log SET target = 'elsewhere' WHERE seq = {seq}"
        ))
        .await;
        fx.assert_detected(
            "edit",
            &format!("record {seq}: contents do not match its MAC"),
        )
        .await;
    })
    .await;
    // A record from before the upgrade, still under SHA-256.
    each("edit legacy", async |fx| {
        fx.exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .await;
        fx.assert_detected("edit legacy", "record 2: contents do not match its hash")
            .await;
    })
    .await;
}

#[tokio::test]
async fn an_inserted_record_is_detected() {
    each("insert", async |fx| {
        let h = head(&fx.store).await;
        let seq = h.seq + 1;
        let forged = sha256_hex(b"forged");
        sqlx::query(
            "INSERT INTO audit_log (seq, tenant_id, actor, role, action, target, source, at, \
             prev_hash, hash, key_id) VALUES ($1, NULL, 'mallory', 'infra_admin', 'app.delete', \
             'app_x', 'local', 1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(&h.hash)
        .bind(&forged)
        .bind(fx.keys.current().id())
        .execute(&fx.store.db.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&forged)
            .execute(&fx.store.db.pool)
            .await
            .unwrap();
        fx.assert_detected(
            "insert",
            &format!("record {seq}: contents do not match its MAC"),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn deleted_records_are_detected() {
    each("delete", async |fx| {
        let seq = head(&fx.store).await.seq - 1;
        fx.exec(&format!("DELETE FROM audit_log WHERE seq = {seq}"))
            .await;
        fx.assert_detected(
            "delete",
            &format!("record {}: expected sequence {seq}", seq + 1),
        )
        .await;
    })
    .await;
    each("delete tail", async |fx| {
        let seq = head(&fx.store).await.seq;
        fx.exec(&format!("DELETE FROM audit_log WHERE seq = {seq}"))
            .await;
        fx.assert_detected("delete tail", "records were deleted at the end")
            .await;
    })
    .await;
}

#[tokio::test]
async fn truncation_below_the_last_checkpoint_is_detected() {
    each("truncate", async |fx| {
        // The tail cut below the checkpoint and the head rewound to match: the chain
        // itself is consistent, only the checkpoint shows the loss.
        let keep = fx.checkpoint - 2;
        fx.exec(&format!("DELETE FROM audit_log WHERE seq > {keep}"))
            .await;
        let (hash,): (String,) = sqlx::query_as("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(keep)
            .fetch_one(&fx.store.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(keep)
            .bind(&hash)
            .execute(&fx.store.db.pool)
            .await
            .unwrap();
        assert_eq!(
            fx.walk().await,
            None,
            "{}: the chain alone hides it",
            fx.backend
        );
        fx.assert_detected(
            "truncate",
            &format!(
                "the log ends at record {keep} but a checkpoint signed record {}",
                fx.checkpoint
            ),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn recomputing_the_chain_is_detected() {
    // Plain SHA-256 from an edited keyed record on, key ids kept: every MAC fails.
    each("recompute sha256", async |fx| {
        let seq = fx.keyed_from + 1;
        fx.exec(&format!(
            "UPDATE audit_log SET target = 'elsewhere' WHERE seq = {seq}"
        ))
        .await;
        fx.recompute(seq, None, None).await;
        fx.assert_detected("recompute sha256", &format!("record {seq}: has no MAC"))
            .await;
    })
    .await;
    // The same, the switch-over point removed too: the whole chain looks unkeyed, which
    // the key's holder and the checkpoint both refuse.
    each("recompute sha256 unkeyed", async |fx| {
        fx.exec("UPDATE audit_log SET target = 'elsewhere' WHERE seq = 2")
            .await;
        fx.exec("UPDATE audit_head SET keyed_from = NULL WHERE id = 1")
            .await;
        fx.recompute(2, None, None).await;
        // Someone holding only the checkpoints' public key (no audit key) sees it.
        let mut conn = fx.store.db.pool.acquire().await.unwrap();
        let (report, _) = verify_all(&mut conn, None, None, Some(&fx.verifier()))
            .await
            .unwrap();
        let problem = report.problem.unwrap();
        assert!(
            problem.contains(&format!(
                "record {}: its MAC differs from the checkpoint's",
                fx.checkpoint
            )),
            "{problem}"
        );
        drop(conn);
        fx.assert_detected_offline(
            "recompute sha256 unkeyed",
            "carries no MAC although an audit key is in use",
        )
        .await;
        // The running server saw the switch-over point: it reports the tampering and
        // appends nothing more (not even the verification's own record).
        let before = head(&fx.store).await;
        let (status, body) = fx.api_status().await;
        assert!(status.is_server_error(), "{status} {body}");
        assert_eq!(head(&fx.store).await, before, "{}", fx.backend);
        // A server started afresh with the key does not switch the stripped chain over
        // again: the checkpoints say it was keyed.
        let out = fx.serve_briefly();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: {stderr}", fx.backend);
        assert!(stderr.contains("MACs were stripped"), "{stderr}");
    })
    .await;
    // A pre-upgrade record edited and the SHA-256 records after it recomputed: the first
    // keyed record's link, covered by its MAC, no longer matches.
    each("recompute legacy", async |fx| {
        // The attacker's recomputation is faithful: without an edit it changes nothing.
        fx.recompute(1, Some(fx.keyed_from - 1), None).await;
        assert_eq!(fx.verify().await, None, "{}", fx.backend);
        fx.exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .await;
        fx.recompute(2, Some(fx.keyed_from - 1), None).await;
        fx.assert_detected(
            "recompute legacy",
            &format!("record {}: previous-hash link broken", fx.keyed_from),
        )
        .await;
    })
    .await;
    // HMAC with a wrong key under the real key's id.
    each("recompute wrong key", async |fx| {
        let seq = fx.keyed_from + 1;
        fx.exec(&format!(
            "UPDATE audit_log SET target = 'elsewhere' WHERE seq = {seq}"
        ))
        .await;
        let wrong = AuditKey::from_base64(&AuditKey::generate_base64()).unwrap();
        fx.recompute(seq, None, Some((&wrong, fx.keys.current().id())))
            .await;
        fx.assert_detected(
            "recompute wrong key",
            &format!("record {seq}: contents do not match its MAC"),
        )
        .await;
    })
    .await;
    // Even with the right key (the database and the key both stolen), a rewrite below the
    // checkpoint is caught by the checkpoint.
    each("recompute right key", async |fx| {
        let key = fx.keys.current().clone();
        fx.recompute(fx.keyed_from, None, Some((&key, key.id())))
            .await;
        assert_eq!(
            fx.verify().await,
            None,
            "{}: faithful recomputation",
            fx.backend
        );
        let seq = fx.keyed_from + 1;
        fx.exec(&format!(
            "UPDATE audit_log SET target = 'elsewhere' WHERE seq = {seq}"
        ))
        .await;
        fx.recompute(seq, None, Some((&key, key.id()))).await;
        assert_eq!(
            fx.walk().await,
            None,
            "{}: the key holder can rewrite the chain",
            fx.backend
        );
        fx.assert_detected(
            "recompute right key",
            &format!(
                "record {}: its MAC differs from the checkpoint's",
                fx.checkpoint
            ),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn a_forged_checkpoint_is_detected() {
    each("forged checkpoint", async |fx| {
        // Signed by another key, claiming the current head.
        let (other, _) = CheckpointSigner::generate().unwrap();
        let other = CheckpointSigner::from_base64(&other).unwrap();
        let h = head(&fx.store).await;
        checkpoint::write(&fx.dir, &other.sign(&h, 1)).unwrap();
        fx.assert_detected("forged checkpoint", "the signature does not verify")
            .await;
    })
    .await;
    each("altered checkpoint", async |fx| {
        // A genuine checkpoint's body changed (a later record claimed) under its signature.
        let mut c = fx.verifier().load().unwrap().pop().unwrap();
        c.seq += 1;
        c.head = head(&fx.store).await.hash;
        checkpoint::write(&fx.dir, &c).unwrap();
        fx.assert_detected("altered checkpoint", "the signature does not verify")
            .await;
    })
    .await;
}

#[tokio::test]
async fn the_schedule_checkpoints_a_growing_log_and_refuses_a_tampered_one() {
    each("schedule", async |fx| {
        let tenant = fx.store.tenant_by_name("acme").await.unwrap().id;
        let mut settings = fx.settings.clone();
        settings.every = Duration::from_millis(100);
        let job = checkpoint_job::spawn(fx.store.clone(), Default::default(), settings);
        let wait_for = async |seq: i64| {
            for _ in 0..100 {
                if fx
                    .verifier()
                    .load()
                    .unwrap()
                    .last()
                    .is_some_and(|c| c.seq == seq)
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        };
        assert!(wait_for(head(&fx.store).await.seq).await, "{}", fx.backend);
        create_app(&fx.store, &tenant, "later").await;
        let grown = head(&fx.store).await.seq;
        assert!(wait_for(grown).await, "{}: a new checkpoint", fx.backend);
        // Tampered: no checkpoint of the tampered head is ever signed.
        fx.exec(&format!(
            "UPDATE audit_log SET target = 'x' WHERE seq = {grown}"
        ))
        .await;
        create_app(&fx.store, &tenant, "after-tamper").await;
        let tampered = head(&fx.store).await.seq;
        assert!(
            !wait_for(tampered).await,
            "{}: a tampered head was signed",
            fx.backend
        );
        job.abort();
        let _ = job.await;
    })
    .await;
}

/// The operator's flow with the real binary only: make the keys, init (keyed from the
/// first record), `serve` writing checkpoints on its schedule, verify, checkpoint by hand,
/// then an edit caught.
#[tokio::test]
async fn the_operator_flow_with_the_binary() {
    let db = common::sqlite_url();
    let dir = std::env::temp_dir().join(format!("sy-audit-ops-{}", random_hex(6)));
    std::fs::create_dir_all(&dir).unwrap();
    let (key_file, signing_key, checkpoints) = (
        dir.join("audit.key"),
        dir.join("checkpoint.key"),
        dir.join("checkpoints"),
    );
    let bin = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.env("SWITCHYARD_DATABASE_URL", &db)
            .env("SWITCHYARD_AUDIT_KEY_FILE", &key_file)
            .env("SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE", &signing_key)
            .env("SWITCHYARD_AUDIT_CHECKPOINT_DIR", &checkpoints)
            .env_remove("SWITCHYARD_AUDIT_KEY");
        cmd
    };
    let ok = |out: Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let key = ok(bin().args(["audit", "generate-key"]).output().unwrap());
    std::fs::write(&key_file, &key).unwrap();
    let public = ok(bin()
        .args(["audit", "generate-checkpoint-key", "--out"])
        .arg(&signing_key)
        .output()
        .unwrap());
    let public = public.trim();
    // The signing key is never overwritten.
    assert!(
        !bin()
            .args(["audit", "generate-checkpoint-key", "--out"])
            .arg(&signing_key)
            .output()
            .unwrap()
            .status
            .success()
    );
    ok(bin()
        .args([
            "init",
            "--tenant",
            "acme",
            "--password",
            "a long password here",
        ])
        .output()
        .unwrap());

    let mut server = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--audit-checkpoint-interval-secs",
            "1",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let verifier = CheckpointVerifier::new(public, &checkpoints).unwrap();
    let mut written = None;
    for _ in 0..100 {
        if let Some(c) = verifier.load().unwrap().pop() {
            written = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let written = written.expect("serve wrote a checkpoint on its schedule");
    assert_eq!(written.keyed_from, Some(1), "keyed from the first record");

    let verified = ok(bin()
        .args(["audit", "verify", "--checkpoint-public-key", public])
        .output()
        .unwrap());
    assert!(
        verified.contains("audit chain intact") && verified.contains("keyed from record 1"),
        "{verified}"
    );
    let by_hand = ok(bin().args(["audit", "checkpoint"]).output().unwrap());
    assert!(
        by_hand.contains("no new records") || by_hand.contains("checkpoint written"),
        "{by_hand}"
    );

    let store = common::store(&db).await;
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        .execute(&store.db.pool)
        .await
        .unwrap();
    let out = bin()
        .args(["audit", "verify", "--checkpoint-public-key", public])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("record 2: contents do not match its MAC"),
        "{stderr}"
    );
    // Nor is a checkpoint of the tampered chain written.
    let refused = bin().args(["audit", "checkpoint"]).output().unwrap();
    assert!(!refused.status.success());
    store.db.pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// `--audit-checkpoint-url`: each checkpoint is POSTed (and verifies with the public key
/// once stored); an endpoint that refuses it fails the checkpoint and no file is written,
/// so the next tick retries both.
#[tokio::test]
async fn checkpoints_are_posted_to_the_operators_endpoint() {
    use axum::routing::post;
    let (backend, url) = ("sqlite", common::sqlite_url());
    let fx = fixture(backend, url).await;
    let received = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let refuse = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let router = Router::new().route(
        "/checkpoints",
        post({
            let (received, refuse) = (received.clone(), refuse.clone());
            async move |axum::Json(body): axum::Json<Value>| {
                if refuse.load(std::sync::atomic::Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                received.lock().unwrap().push(body);
                StatusCode::CREATED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/checkpoints", listener.local_addr().unwrap());
    let serving = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let t = fx.store.tenant_by_name("acme").await.unwrap().id;
    create_app(&fx.store, &t, "posted").await;
    let mut settings = fx.settings.clone();
    settings.url = Some(endpoint);
    let before = fx.verifier().load().unwrap().len();
    let failed = checkpoint_job::checkpoint_now(&fx.store, &settings).await;
    assert!(
        matches!(failed, Err(checkpoint::CheckpointError::Post { .. })),
        "{failed:?}"
    );
    assert_eq!(
        fx.verifier().load().unwrap().len(),
        before,
        "no file either"
    );

    refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    let written = checkpoint_job::checkpoint_now(&fx.store, &settings)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written.seq, head(&fx.store).await.seq);
    let posted: checkpoint::Checkpoint =
        serde_json::from_value(received.lock().unwrap()[0].clone()).unwrap();
    assert_eq!(posted, written);
    // What the endpoint keeps verifies with the public key alone.
    let elsewhere = std::env::temp_dir().join(format!("sy-audit-posted-{}", random_hex(6)));
    checkpoint::write(&elsewhere, &posted).unwrap();
    let verified = CheckpointVerifier::new(&fx.public_key, &elsewhere)
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(verified, vec![written]);
    serving.abort();
    std::fs::remove_dir_all(&elsewhere).ok();
    fx.cleanup().await;
}

/// Rotating the audit key: the new key first in the key file, the old one below it. The
/// next process appends `audit.key.rotate` under the new key; older records keep
/// verifying with the old key, which verification then needs.
#[tokio::test]
async fn a_rotated_key_keeps_old_records_verifiable() {
    for (backend, url) in fresh_urls().await {
        let fx = fixture(backend, url).await;
        let new_key = AuditKey::generate_base64();
        let ring = AuditKeys::parse(&format!("{new_key}\n{}\n", fx.key_b64)).unwrap();
        let rotated = Store::new(
            Db::connect(&fx.url)
                .await
                .unwrap()
                .with_audit_keys(Some(ring.clone())),
        );
        assert_eq!(
            rotated.adopt_audit_key(&ctx()).await.unwrap(),
            Some("audit.key.rotate"),
            "{backend}"
        );
        let t = rotated.tenant_by_name("acme").await.unwrap().id;
        create_app(&rotated, &t, "after-rotation").await;
        let (last_id,): (Option<String>,) =
            sqlx::query_as("SELECT key_id FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_one(&rotated.db.pool)
                .await
                .unwrap();
        assert_eq!(last_id.as_deref(), Some(ring.current().id()), "{backend}");
        let mut conn = rotated.db.pool.acquire().await.unwrap();
        let both = verify_all(&mut conn, None, Some(&ring), Some(&fx.verifier()))
            .await
            .unwrap()
            .0;
        assert_eq!(both.problem, None, "{backend}");
        let only_new = AuditKeys::parse(&new_key).unwrap();
        let problem = audit_log::verify_keyed(&mut conn, None, Some(&only_new))
            .await
            .unwrap()
            .problem
            .unwrap();
        assert!(
            problem.contains(&format!("names audit key {}", fx.keys.current().id())),
            "{problem}"
        );
        // The binary, given both keys (newest first).
        let out = fx.cli(&[(
            "SWITCHYARD_AUDIT_KEY",
            &format!("{new_key}\n{}", fx.key_b64),
        )]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("current key {}", ring.current().id())),
            "{stdout}"
        );
        drop(conn);
        rotated.db.pool.close().await;
        fx.cleanup().await;
    }
}
