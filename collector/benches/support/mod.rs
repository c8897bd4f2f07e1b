//! What the benches of the collector binary share: the CPU time a process
//! used, read from `/proc`.

use anyhow::{Context as _, bail};

/// User plus system CPU time of `/proc/<who>/stat` (`who`: a pid or `self`).
pub(crate) fn cpu_seconds(who: &str) -> anyhow::Result<f64> {
    let path = format!("/proc/{who}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the parenthesised name start at field 3 (state); utime
    // and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
        bail!("no utime/stime in {path}");
    };
    Ok((user + system) as f64 / clock_ticks())
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 if it cannot say).
pub(crate) fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
