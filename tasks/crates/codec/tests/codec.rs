use codec::base64::{self, STANDARD, URL_SAFE};
use codec::{adler32, crc32, hex, rle, Alphabet, Base64Config, DecodeError};

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect()
}

#[test]
fn base64_round_trips_every_length() {
    let configs = [
        STANDARD,
        URL_SAFE,
        Base64Config {
            alphabet: Alphabet::UrlSafe,
            pad: true,
        },
    ];
    for len in 0..40 {
        let data = pseudo_random(len, len as u32);
        for config in configs {
            let text = base64::encode(&data, config);
            assert_eq!(base64::decode(&text, config).unwrap(), data, "len {len}");
        }
    }
}

#[test]
fn jwt_style_segment() {
    let header = br#"{"alg":"HS256","typ":"JWT"}"#;
    let segment = base64::encode(header, URL_SAFE);
    assert_eq!(segment, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    assert_eq!(base64::decode(&segment, URL_SAFE).unwrap(), header);
    assert_eq!(
        base64::decode(&format!("{segment}="), URL_SAFE),
        Err(DecodeError::InvalidPadding { pos: 36 })
    );
}

#[test]
fn hex_and_base64_agree_on_bytes() {
    let bytes = hex::decode("00ff7f80").unwrap();
    assert_eq!(base64::encode(&bytes, STANDARD), "AP9/gA==");
    assert_eq!(
        hex::encode(&base64::decode("AP9/gA==", STANDARD).unwrap()),
        "00ff7f80"
    );
}

#[test]
fn checksums_detect_single_byte_changes() {
    let data = pseudo_random(256, 7);
    let mut changed = data.clone();
    changed[100] ^= 0x01;
    assert_ne!(crc32(&data), crc32(&changed));
    assert_ne!(adler32(&data), adler32(&changed));
    assert_eq!(crc32(&data), crc32(&data.clone()));
}

#[test]
fn rle_then_base64_pipeline() {
    let image = [vec![0u8; 300], vec![255u8; 10], vec![0u8; 2]].concat();
    let packed = rle::encode_bytes(&image);
    assert_eq!(packed, vec![255, 0, 45, 0, 10, 255, 2, 0]);
    let text = base64::encode(&packed, STANDARD);
    let unpacked = rle::decode_bytes(&base64::decode(&text, STANDARD).unwrap()).unwrap();
    assert_eq!(unpacked, image);
    assert_eq!(rle::ratio_percent(image.len(), packed.len()), 2);
}

#[test]
fn text_rle_round_trip() {
    for text in ["", "a", "aaaa", "abba", "  xx  yyy", "ßßß€€"] {
        let encoded = rle::encode_text(text).unwrap();
        assert_eq!(rle::decode_text(&encoded).unwrap(), text);
    }
}
