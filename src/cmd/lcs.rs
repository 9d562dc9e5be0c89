//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
//! common subsequence of two strings, by Redis's algorithm (the same
//! dynamic-programming table, walked back from the end, so the matches and
//! their order are Redis's).

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_protocol::args::is_keyword;

use super::table::{BASE, CommandSpec, RO};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;

/// LCS.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "lcs",
    arity: -3,
    flags: RO,
    keys: (1, 2, 1),
    acl: &["@read", "@string", "@slow"],
    group: "string",
    since: "7.0.0",
    summary: "Finds the longest common substring.",
    complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
    syntax: "key1:key key2:key [LEN] [IDX] [MINMATCHLEN min-match-len:integer] [WITHMATCHLEN]",
    handler: lcs,
    ..BASE
}];

/// One match: ranges in a and b (inclusive).
type Match = ((usize, usize), (usize, usize));

/// The LCS string and its matches (from the end, as Redis lists them).
fn compute(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<Match>, usize) {
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let mut t = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for j in 1..=blen {
            t[i * w + j] = if a[i - 1] == b[j - 1] {
                t[(i - 1) * w + j - 1] + 1
            } else {
                t[(i - 1) * w + j].max(t[i * w + j - 1])
            };
        }
    }
    let total = t[alen * w + blen] as usize;
    let mut result = vec![0u8; total];
    let mut matches = Vec::new();
    let mut idx = total;
    let (mut i, mut j) = (alen, blen);
    // `None` = no range in progress (Redis's arange_start == alen).
    let mut range: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            match &mut range {
                None => range = Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a_start, _, b_start, _)) => {
                    if *a_start == i && *b_start == j {
                        *a_start -= 1;
                        *b_start -= 1;
                    } else {
                        emit = true;
                    }
                }
            }
            if let Some((a_start, _, b_start, _)) = range
                && (a_start == 0 || b_start == 0)
            {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if t[(i - 1) * w + j] > t[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if range.is_some() {
                emit = true;
            }
        }
        if emit && let Some((a_start, a_end, b_start, b_end)) = range.take() {
            matches.push(((a_start, a_end), (b_start, b_end)));
        }
    }
    (result, matches, total)
}

fn string_or_empty(ctx: &Ctx<'_>, key: &[u8]) -> Result<Bytes, CmdError> {
    match ctx.db().get(key, ctx.now()) {
        Ok(v) => Ok(v.unwrap_or_default()),
        Err(EngineError::WrongType) => Err(CmdError::err(
            "The specified keys must contain string values",
        )),
        Err(e) => Err(e.into()),
    }
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN].
pub fn lcs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = string_or_empty(ctx, &args[1])?;
    let b = string_or_empty(ctx, &args[2])?;
    let (mut len, mut idx, mut with_len, mut min_len) = (false, false, false, 0usize);
    let mut i = 3;
    while i < args.len() {
        let o = &args[i];
        if is_keyword(o, "idx") {
            idx = true;
        } else if is_keyword(o, "len") {
            len = true;
        } else if is_keyword(o, "withmatchlen") {
            with_len = true;
        } else if is_keyword(o, "minmatchlen") && i + 1 < args.len() {
            i += 1;
            min_len = int_arg(&args[i])?.max(0) as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if len && idx {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let max = ctx.state.config().proto_max_bulk_len;
    if ((a.len() as u64 + 1) * (b.len() as u64 + 1)).saturating_mul(4) > max {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let (result, matches, total) = compute(&a, &b);
    if idx {
        let kept: Vec<&Match> = matches
            .iter()
            .filter(|((s, e), _)| min_len == 0 || e - s + 1 >= min_len)
            .collect();
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(kept.len());
        for ((a0, a1), (b0, b1)) in kept {
            ctx.out.array(2 + usize::from(with_len));
            ctx.out.array(2);
            ctx.out.int(*a0 as i64);
            ctx.out.int(*a1 as i64);
            ctx.out.array(2);
            ctx.out.int(*b0 as i64);
            ctx.out.int(*b1 as i64);
            if with_len {
                ctx.out.int((a1 - a0 + 1) as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else if len {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::compute;

    #[test]
    fn matches_redis_documentation_example() {
        let (s, m, n) = compute(b"ohmytext", b"mynewtext");
        assert_eq!(s, b"mytext");
        assert_eq!(n, 6);
        assert_eq!(m, vec![((4, 7), (5, 8)), ((2, 3), (0, 1))]);
        assert_eq!(compute(b"", b"abc").2, 0);
    }
}
