//! Decimal digits, two at a time: the numbers and timestamps of the NDJSON
//! records (docs/record.md, "Fields").

/// `00` to `99`: two digits per lookup, one division by 100 instead of two
/// by 10.
const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Most digits of a `u64`.
const MAX_DIGITS: usize = 20;

/// The two digits of `value`, which is below 100.
#[inline]
pub fn pair(value: u32) -> [u8; 2] {
    let at = value as usize * 2;
    [PAIRS[at], PAIRS[at + 1]]
}

/// Appends the decimal text of `value`. Room for the widest number is added
/// as one constant copy, cut back to the digit count, and the digits are
/// written in place. itoa formats into a buffer of its own whose text then
/// needs a copy of unknown length, a `memmove` call per number: 10.9 M
/// records/s against 12.0 M (`cargo bench --bench hot -- export/ndjson`).
/// Forming the digits in a local array and copying it whole was slower
/// still: the wide load waits for the narrow stores (no store forwarding).
///
/// Always inlined: LLVM left it out of line in the encoder, where it is
/// called ten times a record, at 9.7 M records/s against 12.0 M.
#[inline(always)]
pub fn number(out: &mut Vec<u8>, value: impl Into<u64>) {
    let mut rest: u64 = value.into();
    let len = rest.checked_ilog10().map_or(1, |log| log as usize + 1);
    let start = out.len();
    out.extend_from_slice(&[0; MAX_DIGITS]);
    out.truncate(start + len);
    let digits = &mut out[start..];
    let mut end = len;
    while end >= 2 {
        digits[end - 2..end].copy_from_slice(&pair((rest % 100) as u32));
        rest /= 100;
        end -= 2;
    }
    if end == 1 {
        digits[0] = b'0' + rest as u8;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text(value: u64) -> String {
        let mut out = b"x".to_vec();
        number(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_at_every_change_of_width_are_std_texts() {
        let mut values = vec![0, u64::MAX];
        for width in 1..MAX_DIGITS as u32 {
            let power = 10u64.pow(width);
            values.extend([power - 1, power, power + 1]);
        }
        for value in values {
            assert_eq!(text(value), format!("x{value}"));
        }
    }

    proptest! {
        #[test]
        fn any_number_is_its_std_text(value in any::<u64>()) {
            prop_assert_eq!(text(value), format!("x{value}"));
        }
    }
}
