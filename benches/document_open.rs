//! The in-process baseline of the document download benchmark: a content sealed by the
//! project's own code (64 KiB chunks, AES-256-GCM under a data key) is written to a file, then
//! read back from disk and opened — every chunk authenticated, the length and SHA-256 checked —
//! on one thread, with no HTTP, database or audit in between.
//! `cargo run --release --example document_open -- [MIB] [ROUNDS]` (default 25 MiB, 9 rounds);
//! prints one line per figure, `benches/documents.sh` reads `median_mib_per_s`.

use std::io::Read;
use std::time::Instant;

use casebridge::crypto::MasterKeys;
use casebridge::db::Id;
use casebridge::documents::sealing::{CHUNK_SIZE, ChunkOpener, ChunkSealer};
use secrecy::SecretBox;

/// Bytes asked of the file per read: what the document store reads per step.
const READ_SIZE: usize = casebridge::documents::store::READ_SIZE;

fn main() -> anyhow::Result<()> {
    let mut numbers = std::env::args().skip(1).filter(|arg| !arg.starts_with('-'));
    let mib: usize = numbers.next().map(|arg| arg.parse()).transpose()?.unwrap_or(25);
    let rounds: usize = numbers.next().map(|arg| arg.parse()).transpose()?.unwrap_or(9).max(1);
    let master = MasterKeys::new(&[("bench".to_owned(), SecretBox::new(Box::new([7u8; 32])))]);
    let (_, _, key) = master.new_data_key(Id::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let document_id = Id::new();

    let mut content = vec![0u8; mib * 1024 * 1024];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for byte in content.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let folder = tempfile::tempdir()?;
    let path = folder.path().join("sealed");
    let mut sealed = Vec::with_capacity(content.len() + content.len() / 1000);
    let mut sealer = ChunkSealer::new(key.clone(), document_id, CHUNK_SIZE);
    sealer.push(&content, |chunk| sealed.extend_from_slice(chunk)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let summary = sealer.finish(|chunk| sealed.extend_from_slice(chunk)).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(&path, &sealed)?;
    drop((content, sealed));

    let mut millis = Vec::with_capacity(rounds);
    let mut buffer = vec![0u8; READ_SIZE];
    for round in 0..=rounds {
        let started = Instant::now();
        let mut file = std::fs::File::open(&path)?;
        let mut opener = ChunkOpener::new(key.clone(), document_id, CHUNK_SIZE, summary.size, &summary.sha256);
        let mut opened = 0usize;
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            opened += opener.push(&buffer[..read]).map_err(|e| anyhow::anyhow!("{e}"))?.len();
        }
        opener.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(opened as u64 == summary.size, "opened {opened} of {} bytes", summary.size);
        // The first round warms the page cache and the allocator; it is not counted.
        if round > 0 {
            millis.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    println!("size_mib {mib}");
    println!("rounds {}", millis.len());
    println!("median_ms {median:.2}");
    println!("min_ms {:.2}", millis[0]);
    println!("max_ms {:.2}", millis[millis.len() - 1]);
    println!("median_mib_per_s {:.1}", mib as f64 / (median / 1000.0));
    Ok(())
}
