//! The redactor against what it must hide and what it must leave alone.

use super::*;

fn redacted(text: &str) -> String {
    Redactor::new().unwrap().redact(text).into_owned()
}

#[track_caller]
fn hides(text: &str, secret: &str, placeholder: &str) {
    let out = redacted(text);
    assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
    assert!(out.contains(placeholder), "no {placeholder} in {out:?}");
}

#[track_caller]
fn keeps(text: &str) {
    assert_eq!(redacted(text), text, "changed although it holds no PII");
}

#[test]
fn the_patterns_compile() {
    Redactor::new().unwrap();
    assert!(REDACTOR.is_ok());
}

#[test]
fn emails() {
    hides(
        "Write to alice@example.com today",
        "alice@example.com",
        "[EMAIL]",
    );
    hides("<bob.smith+tag@mail.co.uk>", "bob.smith", "[EMAIL]");
    assert_eq!(redacted("mail alice@example.com."), "mail [EMAIL].");
}

#[test]
fn phone_numbers() {
    hides("call +1 (415) 555-2671 now", "555-2671", "[PHONE]");
    hides("UK: +44 20 7946 0958", "7946 0958", "[PHONE]");
    hides("tel +8613812345678", "13812345678", "[PHONE]");
    hides("手机号13812345678请回电", "13812345678", "[PHONE]");
    hides("手机 138 1234 5678", "1234 5678", "[PHONE]");
    hides("office (415) 555-2671", "555-2671", "[PHONE]");
    hides("office 415-555-2671", "555-2671", "[PHONE]");
    hides("London 020 7946 0958", "7946 0958", "[PHONE]");
    hides("Paris 01 23 45 67 89", "45 67 89", "[PHONE]");
}

#[test]
fn cards_pass_luhn_and_random_digits_do_not() {
    hides("card 4111 1111 1111 1111 exp 12/27", "4111", "[CARD]");
    hides("card 4111-1111-1111-1111", "1111-1111", "[CARD]");
    hides("amex 378282246310005", "378282246310005", "[CARD]");
    hides("card 4111111111111111 123", "4111111111111111", "[CARD]");
    // A Luhn failure, and a 13-digit millisecond timestamp.
    keeps("order 4111 1111 1111 1112 shipped");
    keeps("at 1733572800000 ms");
}

#[test]
fn ibans() {
    hides("IBAN GB82 WEST 1234 5698 7654 32.", "WEST 1234", "[IBAN]");
    hides("pay DE89370400440532013000", "DE8937", "[IBAN]");
    keeps("part DE89370400440532013001 in stock");
}

#[test]
fn ip_addresses() {
    hides("from 192.168.10.24:443", "192.168.10.24", "[IP]");
    hides("host 2001:db8:85a3::8a2e:370:7334 up", "2001:db8", "[IP]");
    hides("loopback ::1 only", "::1", "[IP]");
    keeps("version 1.2.3 and v1.2.3.4 and 1.2.3.4.5");
    keeps("std::vector and dead::beef");
}

#[test]
fn ssns() {
    hides("SSN 123-45-6789", "123-45-6789", "[SSN]");
    keeps("not an SSN: 000-12-3456, 666-12-3456, 900-12-3456");
}

#[test]
fn chinese_resident_ids() {
    hides(
        "身份证号11010519491231002X。",
        "11010519491231002X",
        "[ID_NUMBER]",
    );
    keeps("身份证号110105194912310021。");
}

#[test]
fn secrets() {
    hides(
        "key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
        "abcdefghijklmnop",
        "[API_KEY]",
    );
    hides(
        "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz",
        "AbCdEfGh",
        "[API_KEY]",
    );
    hides(
        "SWITCHYARD_KEY=sy_0a1b2c3d_00112233445566778899aabbccddeeff",
        "00112233445566778899",
        "[API_KEY]",
    );
    hides(
        "aws AKIAIOSFODNN7EXAMPLE",
        "AKIAIOSFODNN7EXAMPLE",
        "[API_KEY]",
    );
    hides(
        "Authorization: Bearer abcDEF123456ghiJKL789",
        "abcDEF123456",
        "Bearer [TOKEN]",
    );
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    hides(&format!("token {jwt} end"), "eyJzdWIi", "[TOKEN]");
    let pem =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----";
    assert_eq!(redacted(&format!("x {pem} y")), "x [PRIVATE_KEY] y");
}

#[test]
fn ordinary_numbers_stay() {
    keeps("Order #A-2024-118842 for 3 items, total 1,299.00 EUR");
    keeps("order number 20241207113909 and invoice 2024-000123");
    keeps("at 2024-12-07T11:39:09Z, then 2024-12-07 11:39:09.123 and 11:39");
    keeps("epoch 1733572749, build 10.0.19041.1, version 2.14.3-rc.1");
    keeps("id 550e8400-e29b-41d4-a716-446655440000 and 6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    keeps("call 3 times, 12 of 40, page 2/7, 25% off, ISBN 978-3-16-148410-0");
    keeps("");
}

#[test]
fn several_kinds_in_one_text_and_json() {
    let mut value = serde_json::json!({
        "messages": [
            {"role": "user", "content": "I am alice@example.com, card 4111 1111 1111 1111"},
            {"role": "assistant", "content": "Noted."}
        ],
        "temperature": 0.2
    });
    assert!(redact_json(&mut value));
    assert_eq!(value["messages"][0]["content"], "I am [EMAIL], card [CARD]");
    assert_eq!(value["messages"][1]["content"], "Noted.");
    assert!(!redact_json(&mut value));
}
