//! Truncated and byte-flipped copies of the corpus's EVTX files: no panic, every error
//! names the file and the place, and the records that were not damaged still come out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nigehban_logfiles::{Error, ErrorKind, Location, Position, ReadOptions, Record};

use crate::util::{corpus, files_under, read_all};

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// The attack samples, or nothing when the corpus is absent.
fn samples() -> Vec<PathBuf> {
    let Some(corpus) = corpus() else {
        return Vec::new();
    };
    let files = files_under(&corpus.join("events/evtx-attack-samples"), ".evtx");
    assert!(files.len() >= 20);
    files
}

/// What a record is, apart from its file: its event and position.
type Content<'a> = (&'a serde_json::Value, Position);

/// Records by (chunk, record id).
fn by_place(records: &[Record]) -> HashMap<(u64, u64), Content<'_>> {
    records
        .iter()
        .map(|record| match record.position {
            Position::Evtx {
                chunk, record_id, ..
            } => ((chunk, record_id), (&record.event, record.position)),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The contents of `records`, in order.
fn contents(records: &[Record]) -> Vec<Content<'_>> {
    records
        .iter()
        .map(|record| (&record.event, record.position))
        .collect()
}

/// The chunk an error is about, if it is about one.
fn error_chunk(error: &Error) -> Option<u64> {
    match error.location() {
        Location::EvtxChunk { chunk, .. } | Location::EvtxRecord { chunk, .. } => Some(*chunk),
        _ => None,
    }
}

fn check_errors_name_the_file(path: &Path, errors: &[Error]) {
    for error in errors {
        assert_eq!(error.path(), path);
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: ", path.display())),
            "{error}"
        );
    }
}

/// The offsets where each record of an intact file ends, by (chunk, record id): the next
/// record's offset within the same chunk (unknown for a chunk's last record).
fn record_ends(records: &[Record]) -> HashMap<(u64, u64), u64> {
    let mut ends = HashMap::new();
    for pair in records.windows(2) {
        if let (
            Position::Evtx {
                chunk, record_id, ..
            },
            Position::Evtx {
                chunk: next_chunk,
                offset: next_offset,
                ..
            },
        ) = (pair[0].position, pair[1].position)
            && chunk == next_chunk
        {
            ends.insert((chunk, record_id), next_offset);
        }
    }
    ends
}

#[test]
fn truncated_copies_keep_the_records_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let options = ReadOptions::default();
    for sample in samples() {
        let bytes = std::fs::read(&sample).unwrap();
        let (full, full_errors) = read_all(&sample, &options);
        assert!(full_errors.is_empty());
        let full_by_place = by_place(&full);
        let ends = record_ends(&full);
        let len = bytes.len();
        let last_chunk_start = HEADER + (len - HEADER - 1) / CHUNK * CHUNK;
        let announced = announced_chunks(&bytes);
        let cuts = [
            0,
            5,
            100,
            HEADER - 1,
            HEADER,
            HEADER + 100,
            HEADER + 511,
            HEADER + 512 + 1000,
            HEADER + 40_000,
            last_chunk_start,
            last_chunk_start + 300,
            last_chunk_start + 30_000,
            len - 1,
        ];
        for cut in cuts.into_iter().filter(|cut| *cut < len) {
            let path = dir.path().join(format!("cut-{cut}.evtx"));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let (records, errors) = read_all(&path, &options);
            check_errors_name_the_file(&path, &errors);
            if cut < HEADER {
                assert!(records.is_empty());
                assert_eq!(errors.len(), 1, "{errors:?}");
                if cut == 0 {
                    assert!(
                        matches!(errors[0].kind(), ErrorKind::EmptyEvtx)
                            && *errors[0].location() == Location::File,
                        "an empty .evtx is reported: {}",
                        errors[0]
                    );
                }
                if cut >= 8 {
                    assert!(
                        matches!(errors[0].kind(), ErrorKind::TruncatedEvtxFileHeader { .. }),
                        "{}",
                        errors[0]
                    );
                }
                continue;
            }
            // Every record read is the intact file's record.
            for record in &records {
                let Position::Evtx {
                    chunk, record_id, ..
                } = record.position
                else {
                    panic!("{:?}", record.position)
                };
                assert!(
                    full_by_place.get(&(chunk, record_id))
                        == Some(&(&record.event, record.position)),
                    "{} cut at {cut}: record {record_id} of chunk {chunk} differs",
                    sample.display()
                );
            }
            // Every record wholly before the cut is read.
            let cut_chunk = ((cut - HEADER) / CHUNK) as u64;
            let read = by_place(&records);
            for (place, (_, position)) in &full_by_place {
                let Position::Evtx { chunk, .. } = *position else {
                    unreachable!()
                };
                let whole = chunk < cut_chunk
                    || (chunk == cut_chunk
                        && ends.get(place).is_some_and(|end| *end <= cut as u64));
                if whole {
                    assert!(
                        read.contains_key(place),
                        "{} cut at {cut}: record {place:?} lost",
                        sample.display()
                    );
                }
            }
            // Chunks the header counts past the cut are reported missing, at the first.
            let held = (cut - HEADER).div_ceil(CHUNK) as u64;
            let missing = errors
                .iter()
                .filter(|error| matches!(error.kind(), ErrorKind::EvtxChunksMissing { .. }))
                .collect::<Vec<_>>();
            if held < announced {
                assert_eq!(
                    missing.len(),
                    1,
                    "{} cut at {cut}: {errors:#?}",
                    sample.display()
                );
                assert!(
                    matches!(missing[0].kind(), ErrorKind::EvtxChunksMissing { announced: a, present }
                        if *a == announced && *present == held),
                    "{}",
                    missing[0]
                );
                assert_eq!(
                    *missing[0].location(),
                    Location::EvtxChunk {
                        chunk: held,
                        offset: (HEADER + held as usize * CHUNK) as u64
                    }
                );
            } else {
                assert!(missing.is_empty(), "{errors:?}");
            }
            let errors: Vec<&Error> = errors
                .iter()
                .filter(|error| !matches!(error.kind(), ErrorKind::EvtxChunksMissing { .. }))
                .collect();
            // A cut inside a chunk in use is reported at that chunk.
            let chunk_start = HEADER + cut_chunk as usize * CHUNK;
            let blank = bytes[chunk_start..len.min(chunk_start + CHUNK)]
                .iter()
                .all(|b| *b == 0);
            if !(cut - HEADER).is_multiple_of(CHUNK) && !blank {
                let chunk_offset = (HEADER + cut_chunk as usize * CHUNK) as u64;
                let reported = errors.iter().any(|error| {
                    matches!(error.kind(), ErrorKind::TruncatedEvtxChunk { present }
                        if *present == (cut as u64 - chunk_offset))
                        && *error.location()
                            == Location::EvtxChunk {
                                chunk: cut_chunk,
                                offset: chunk_offset,
                            }
                });
                assert!(reported, "{} cut at {cut}: {errors:#?}", sample.display());
            } else {
                assert!(errors.is_empty(), "{errors:?}");
            }
        }
    }
}

/// The number of chunks an intact EVTX file's header counts in use.
fn announced_chunks(bytes: &[u8]) -> u64 {
    u64::from(u16::from_le_bytes([bytes[42], bytes[43]]))
}

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % bound
    }
}

/// The free space offset of the intact chunk starting at `start`.
fn free_space(bytes: &[u8], start: usize) -> usize {
    u32::from_le_bytes(bytes[start + 48..start + 52].try_into().unwrap()) as usize
}

#[test]
fn byte_flipped_copies_report_the_damage_and_keep_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let options = ReadOptions::default();
    let mut damaged_chunks_reported = 0;
    for (index, sample) in samples().into_iter().enumerate() {
        let bytes = std::fs::read(&sample).unwrap();
        let (full, _) = read_all(&sample, &options);
        let full_by_place = by_place(&full);
        for seed in 1..=6_u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index as u64);
            let flips = [1, 4, 32][(seed % 3) as usize];
            let mut damaged = bytes.clone();
            let mut flipped = Vec::new();
            for _ in 0..flips {
                let at = rng.below(damaged.len());
                damaged[at] ^= 1 << rng.below(8);
                flipped.push(at);
            }
            let path = dir.path().join(format!("flipped-{index}-{seed}.evtx"));
            std::fs::write(&path, &damaged).unwrap();
            let (records, errors) = read_all(&path, &options);
            check_errors_name_the_file(&path, &errors);
            let unrecognised = errors.iter().any(Error::is_unrecognised_format);
            if unrecognised {
                // Both the file magic and the first chunk's magic were hit.
                assert!(flipped.iter().any(|at| *at < 8));
                continue;
            }
            let read = by_place(&records);
            let chunks = (bytes.len() - HEADER).div_ceil(CHUNK);
            for chunk in 0..chunks {
                let start = HEADER + chunk * CHUNK;
                let hits: Vec<usize> = flipped
                    .iter()
                    .filter(|at| (start..start + CHUNK).contains(at))
                    .map(|at| at - start)
                    .collect();
                if hits.is_empty() {
                    // An untouched chunk reads exactly as before.
                    for (place, content) in &full_by_place {
                        if place.0 == chunk as u64 {
                            assert!(
                                read.get(place) == Some(content),
                                "{} seed {seed}: record {place:?} of an untouched chunk differs",
                                sample.display()
                            );
                        }
                    }
                    continue;
                }
                // Damage to what the checksums cover is reported at the chunk, unless the
                // flags (not covered) were hit too: they can say "no checksums".
                let covered = hits
                    .iter()
                    .any(|at| *at < 120 || (124..free_space(&bytes, start)).contains(at));
                let flags_hit = hits.iter().any(|at| (120..124).contains(at));
                if covered && !flags_hit {
                    let reported = errors
                        .iter()
                        .any(|error| error_chunk(error) == Some(chunk as u64));
                    assert!(
                        reported,
                        "{} seed {seed}: chunk {chunk} hit at {hits:?}: {errors:#?}",
                        sample.display()
                    );
                    damaged_chunks_reported += 1;
                }
            }
            let header_hit = flipped
                .iter()
                .any(|at| *at < 120 || (124..128).contains(at));
            if header_hit {
                assert!(
                    errors
                        .iter()
                        .any(|error| *error.location() == Location::EvtxFileHeader),
                    "{errors:#?}"
                );
            }
        }
    }
    if !samples().is_empty() {
        assert!(damaged_chunks_reported > 50, "{damaged_chunks_reported}");
    }
}

/// Chunk 0 of the first sample, with `damage` applied to its bytes, read back.
fn read_damaged_first_chunk(
    damage: impl Fn(&mut [u8]),
) -> Option<(Vec<Record>, Vec<Record>, Vec<Error>)> {
    let sample = samples().into_iter().next()?;
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(&sample).unwrap();
    damage(&mut bytes[HEADER..HEADER + CHUNK]);
    let path = dir.path().join("damaged.evtx");
    std::fs::write(&path, &bytes).unwrap();
    let (full, _) = read_all(&sample, &ReadOptions::default());
    let (records, errors) = read_all(&path, &ReadOptions::default());
    Some((full, records, errors))
}

#[test]
fn a_chunk_with_a_damaged_magic_is_still_read() {
    let Some((full, records, errors)) = read_damaged_first_chunk(|chunk| chunk[3] ^= 0x40) else {
        return;
    };
    assert!(contents(&records) == contents(&full));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(
        errors[0].kind(),
        ErrorKind::EvtxChunkMagicRepaired { .. }
    ));
    assert!(
        errors[0]
            .to_string()
            .contains("chunk 0 (offset 0x1000): bad chunk magic"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_chunk_whose_magic_and_header_are_damaged_is_skipped_with_an_error() {
    let Some((_, records, errors)) = read_damaged_first_chunk(|chunk| {
        chunk[3] ^= 0x40;
        chunk[30] ^= 0x01;
    }) else {
        return;
    };
    assert!(
        records
            .iter()
            .all(|record| !matches!(record.position, Position::Evtx { chunk: 0, .. }))
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(errors[0].kind(), ErrorKind::EvtxChunkMagic { .. }));
}

#[test]
fn a_chunk_with_a_damaged_string_table_is_read_without_it() {
    let Some((full, records, errors)) = read_damaged_first_chunk(|chunk| {
        // Every string bucket points past the chunk.
        for bucket in chunk[128..384].chunks_mut(4) {
            if bucket != [0, 0, 0, 0] {
                bucket.copy_from_slice(&0xfff0_u32.to_le_bytes());
            }
        }
    }) else {
        return;
    };
    assert!(contents(&records) == contents(&full));
    let kinds: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        errors
            .iter()
            .any(|error| matches!(error.kind(), ErrorKind::EvtxChunkHeaderChecksum { .. })),
        "{kinds:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|error| matches!(error.kind(), ErrorKind::EvtxChunkStrings(_))),
        "{kinds:#?}"
    );
}

#[test]
fn a_damaged_record_is_reported_and_the_others_are_read() {
    let Some((full, records, errors)) = read_damaged_first_chunk(|chunk| {
        // The magic of the second record's header.
        let first_size = u32::from_le_bytes(chunk[516..520].try_into().unwrap()) as usize;
        chunk[512 + first_size] = b'X';
    }) else {
        return;
    };
    assert_eq!(records.len(), full.len() - 1);
    let (records, full) = (contents(&records), contents(&full));
    assert!(records[0] == full[0]);
    assert!(records[1..] == full[2..]);
    let record_errors: Vec<&Error> = errors
        .iter()
        .filter(|error| matches!(error.kind(), ErrorKind::EvtxRecord(_)))
        .collect();
    assert_eq!(record_errors.len(), 1, "{errors:#?}");
    let Position::Evtx { offset, .. } = full[1].1 else {
        unreachable!()
    };
    assert_eq!(
        *record_errors[0].location(),
        Location::EvtxRecord {
            chunk: 0,
            record_id: None,
            offset: Some(offset)
        }
    );
    // The records' checksum no longer holds either.
    assert!(
        errors
            .iter()
            .any(|error| matches!(error.kind(), ErrorKind::EvtxChunkDataChecksum { .. }))
    );
}

// Regression (issue 8, item 9): these three lost records without an error.

#[test]
fn an_empty_evtx_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["Security.evtx", "System.EVTX", "Application.evtx.gz"] {
        let path = dir.path().join(name);
        std::fs::write(&path, b"").unwrap();
        let (records, errors) = read_all(&path, &ReadOptions::default());
        assert!(records.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path(), path);
        assert_eq!(*errors[0].location(), Location::File);
        assert!(
            matches!(errors[0].kind(), ErrorKind::EmptyEvtx),
            "{}",
            errors[0]
        );
        assert!(errors[0].to_string().contains(name), "{}", errors[0]);
    }
    // Content still decides for every other name: an empty log is just empty.
    let path = dir.path().join("empty.jsonl");
    std::fs::write(&path, b"").unwrap();
    let (records, errors) = read_all(&path, &ReadOptions::default());
    assert!(records.is_empty() && errors.is_empty(), "{errors:?}");
}

/// A corpus sample with at least `chunks` chunks in use, and its bytes.
fn sample_with_chunks(chunks: u64) -> Option<(PathBuf, Vec<u8>)> {
    samples().into_iter().find_map(|path| {
        let bytes = std::fs::read(&path).unwrap();
        (announced_chunks(&bytes) >= chunks).then_some((path, bytes))
    })
}

#[test]
fn chunks_the_header_counts_but_the_file_lacks_are_an_error() {
    let Some((sample, bytes)) = sample_with_chunks(2) else {
        return;
    };
    let announced = announced_chunks(&bytes);
    let (full, _) = read_all(&sample, &ReadOptions::default());
    let dir = tempfile::tempdir().unwrap();
    for kept in [0, 1, announced - 1] {
        let path = dir.path().join(format!("kept-{kept}.evtx"));
        let cut = HEADER + kept as usize * CHUNK;
        std::fs::write(&path, &bytes[..cut]).unwrap();
        for gzipped in [false, true] {
            let (records, errors) = if gzipped {
                let gz = dir.path().join(format!("kept-{kept}.evtx.gz"));
                let mut encoder = flate2::write::GzEncoder::new(
                    std::fs::File::create(&gz).unwrap(),
                    flate2::Compression::fast(),
                );
                std::io::Write::write_all(&mut encoder, &bytes[..cut]).unwrap();
                encoder.finish().unwrap();
                read_all(&gz, &ReadOptions::default())
            } else {
                read_all(&path, &ReadOptions::default())
            };
            let kept_records = full
                .iter()
                .filter(|r| matches!(r.position, Position::Evtx { chunk, .. } if chunk < kept))
                .count();
            assert_eq!(records.len(), kept_records, "the chunks held are read");
            assert_eq!(errors.len(), 1, "kept {kept}, gzip {gzipped}: {errors:#?}");
            assert!(
                matches!(errors[0].kind(), ErrorKind::EvtxChunksMissing { announced: a, present }
                    if *a == announced && *present == kept),
                "{}",
                errors[0]
            );
            assert_eq!(
                *errors[0].location(),
                Location::EvtxChunk {
                    chunk: kept,
                    offset: cut as u64
                }
            );
            assert!(errors[0].to_string().contains("kept-"), "{}", errors[0]);
        }
    }
}

#[test]
fn a_zeroed_chunk_in_use_is_an_error_at_that_chunk() {
    let Some((sample, mut bytes)) = sample_with_chunks(2) else {
        return;
    };
    let (full, full_errors) = read_all(&sample, &ReadOptions::default());
    assert!(full_errors.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zeroed.evtx");
    bytes[HEADER + CHUNK..HEADER + 2 * CHUNK].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let (records, errors) = read_all(&path, &ReadOptions::default());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path(), path);
    assert!(
        matches!(errors[0].kind(), ErrorKind::EvtxChunkZeroed { .. }),
        "{}",
        errors[0]
    );
    assert_eq!(
        *errors[0].location(),
        Location::EvtxChunk {
            chunk: 1,
            offset: (HEADER + CHUNK) as u64
        }
    );
    let others = full
        .iter()
        .filter(|r| !matches!(r.position, Position::Evtx { chunk: 1, .. }))
        .count();
    assert_eq!(records.len(), others, "every other chunk is still read");
    // Read as a stream (gzip), the same chunk is named.
    let gz = dir.path().join("zeroed.evtx.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut encoder, &bytes).unwrap();
    encoder.finish().unwrap();
    let (streamed, errors) = read_all(&gz, &ReadOptions::default());
    assert_eq!(streamed.len(), others);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(matches!(
        errors[0].kind(),
        ErrorKind::EvtxChunkZeroed { .. }
    ));
}
