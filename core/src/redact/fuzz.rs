//! The redactor fuzzed with seeded random text: it never panics, a second pass finds
//! nothing left to hide, and real-shaped PII planted among ordinary words never survives.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::redact;

const ROUNDS: usize = 4_000;

/// Characters PII is made of, weighted towards digits and separators, plus some that are
/// not ASCII, so boundaries and offsets get exercised.
const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '1', '4', '5', ' ', ' ', '-', '.', ':',
    '+', '(', ')', '@', '_', '/', 'a', 'b', 'e', 'f', 'x', 'X', 'A', 'K', 'I', 's', 'k', 'y', 'G',
    'B', '\n', '\t', 'é', '東', '😀', '[', ']',
];

/// Ordinary words to plant PII among: none is PII, and each is separated by a space.
const WORDS: &[&str] = &[
    "the", "order", "shipped", "v1.2.3", "naïve", "東京", "😀", "build-42", "2026", "7", "release",
    "id:", "(see", "note)", "#118", "at", "3.5", "and", "ok.", "\n",
];

fn random_text(rng: &mut StdRng) -> String {
    let len = rng.random_range(0..240);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// The Luhn check digit that completes `body`.
fn luhn_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

fn card(rng: &mut StdRng) -> String {
    let (prefix, len) =
        [("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)][rng.random_range(0..5)];
    let mut number = format!("{prefix}{}", digits(rng, len - prefix.len() - 1));
    number.push(luhn_digit(&number));
    match rng.random_range(0..3) {
        0 => number,
        sep => {
            let sep = if sep == 1 { " " } else { "-" };
            let groups: Vec<String> = number
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            groups.join(sep)
        }
    }
}

fn resident_id(rng: &mut StdRng) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let body = format!(
        "{}{}{:04}{:02}{:02}{}",
        rng.random_range(1..10),
        digits(rng, 5),
        rng.random_range(1930..2020),
        rng.random_range(1..13),
        rng.random_range(1..29),
        digits(rng, 3)
    );
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", char::from(CHECK[(sum % 11) as usize]))
}

fn email(rng: &mut StdRng) -> String {
    let local = ["alice", "bob.smith", "x_y+tag", "li.wei"][rng.random_range(0..4)];
    let domain = ["example.com", "mail.example.co.uk", "corp.cn"][rng.random_range(0..3)];
    format!("{local}{}@{domain}", rng.random_range(0..1000))
}

fn phone(rng: &mut StdRng) -> String {
    match rng.random_range(0..3) {
        0 => format!("+44 20 {} {}", digits(rng, 4), digits(rng, 4)),
        1 => format!("1{}{}", rng.random_range(3..10), digits(rng, 9)),
        _ => format!(
            "+1 ({}) {}-{}",
            rng.random_range(200..999),
            digits(rng, 3),
            digits(rng, 4)
        ),
    }
}

fn ipv4(rng: &mut StdRng) -> String {
    let mut octet = || rng.random_range(0..256).to_string();
    format!("{}.{}.{}.{}", octet(), octet(), octet(), octet())
}

fn api_key(rng: &mut StdRng) -> String {
    let body: String = (0..rng.random_range(24..48))
        .map(|_| {
            let c = rng.random_range(0..62u8);
            char::from(match c {
                0..=9 => b'0' + c,
                10..=35 => b'a' + c - 10,
                _ => b'A' + c - 36,
            })
        })
        .collect();
    format!("sk-{body}")
}

fn pii(rng: &mut StdRng) -> String {
    match rng.random_range(0..7) {
        0 => card(rng),
        1 => resident_id(rng),
        2 => email(rng),
        3 => phone(rng),
        4 => ipv4(rng),
        5 => api_key(rng),
        _ => format!(
            "{}-{:02}-{:04}",
            rng.random_range(100..666),
            rng.random_range(1..100),
            rng.random_range(1..10000)
        ),
    }
}

#[test]
fn random_text_never_panics_and_a_second_pass_finds_nothing() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    for _ in 0..ROUNDS {
        let text = random_text(&mut rng);
        let once = redact(&text).into_owned();
        let twice = redact(&once).into_owned();
        assert_eq!(
            once, twice,
            "something to hide survived in {once:?} (from {text:?})"
        );
    }
}

#[test]
fn planted_pii_never_survives() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    for _ in 0..ROUNDS {
        let mut words: Vec<String> = Vec::new();
        let mut planted = Vec::new();
        for _ in 0..rng.random_range(1..12) {
            if rng.random_bool(0.3) {
                let value = pii(&mut rng);
                planted.push(value.clone());
                words.push(value);
            } else {
                words.push(WORDS[rng.random_range(0..WORDS.len())].to_owned());
            }
        }
        let text = words.join(" ");
        let out = redact(&text);
        for value in &planted {
            assert!(
                !out.contains(value.as_str()),
                "{value:?} survived in {out:?}"
            );
        }
    }
}
