//! Time per Argon2id password hash (m = 19456 KiB, t = 2, p = 1) on one thread, as the login
//! handler computes it: `cargo bench --bench argon2_hash -- [ROUNDS]`. Prints one line per
//! statistic; `benches/run.sh` reads the median.

use std::time::Instant;

use secrecy::SecretString;

fn main() -> anyhow::Result<()> {
    let rounds: usize = match std::env::args().skip(1).find(|arg| !arg.starts_with('-')) {
        Some(arg) => arg.parse()?,
        None => 30,
    };
    let password = SecretString::from("violet tram under Wawel 1987!".to_owned());
    // The first hash allocates the 19 MiB block; it is not counted.
    casebridge::auth::password::hash_now(&password)?;
    let mut millis = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        casebridge::auth::password::hash_now(&password)?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    let mean = millis.iter().sum::<f64>() / millis.len() as f64;
    let median = millis[millis.len() / 2];
    println!("rounds {}", millis.len());
    println!("mean_ms {mean:.2}");
    println!("median_ms {median:.2}");
    println!("min_ms {:.2}", millis[0]);
    println!("max_ms {:.2}", millis[millis.len() - 1]);
    Ok(())
}
