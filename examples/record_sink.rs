//! Your own sink: a `RecordSink` that counts records per level and sums a
//! numeric field, fed on the logger's output thread while NDJSON goes to
//! stdout as usual. With `--features otlp` and a collector on
//! `localhost:4318` (or the URL given as the first argument), the same
//! records also go out over OTLP/HTTP.
//!
//! ```text
//! cargo run --example record_sink
//! cargo run --example record_sink --features otlp -- http://localhost:4318
//! ```

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use logjet::sink::{self, FieldValue, RecordSink, RecordView, Records};
use logjet::{Level, Logger};

#[derive(Default, Debug)]
struct Totals {
    per_level: BTreeMap<&'static str, u64>,
    bytes: u64,
}

/// Counts records per level and sums the `bytes` field.
struct Counter(Arc<Mutex<Totals>>);

impl RecordSink for Counter {
    fn write(&mut self, rec: &RecordView<'_>) -> io::Result<()> {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t.per_level.entry(rec.level().as_str()).or_default() += 1;
        for (key, value) in rec.fields() {
            match (&*key, value) {
                ("bytes", FieldValue::U64(n)) => t.bytes += n,
                ("bytes", FieldValue::I64(n)) => t.bytes += n.max(0) as u64,
                _ => {}
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let totals = Arc::new(Mutex::new(Totals::default()));
    let builder = Logger::builder()
        .level(Level::Debug)
        .sink(sink::Stdout)
        .sink(Records::new(Counter(totals.clone())).name("counter"));
    #[cfg(feature = "otlp")]
    let builder = {
        let url = std::env::args().nth(1).unwrap_or_else(|| "http://localhost:4318".into());
        builder.sink(sink::Otlp::http(url)?.service_name("record-sink-example"))
    };
    let (log, guard) = builder.build()?;

    let conn = log.child(logjet::fields!(peer = "10.0.0.7"));
    for i in 0..10u64 {
        logjet::debug!(conn, "chunk sent", bytes = 1000 + i, seq = i);
    }
    logjet::warn!(conn, "slow peer", ms = 850);
    logjet::error!(log, "upload failed", bytes = 0u64);

    // Every sink, the counter included, has every record once this returns
    // (with OTLP: once the collector answered; a collector that is down is
    // retried, so give up waiting after a while).
    if let Err(e) = guard.flush_timeout(std::time::Duration::from_secs(5)) {
        eprintln!("flush: {e}");
    }
    let t = totals.lock().unwrap_or_else(|p| p.into_inner());
    eprintln!("per level: {:?}, bytes: {}", t.per_level, t.bytes);
    assert_eq!(t.per_level.values().sum::<u64>(), 12);
    assert_eq!(t.bytes, 10_045);
    Ok(())
}
