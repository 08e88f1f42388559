//! The documented fixed cost of an image input, and just enough header parsing to learn an
//! inline image's size without decoding it.

/// `detail: "low"`, and the base cost of every high-detail image.
pub const BASE_TOKENS: u64 = 85;
pub const TILE_TOKENS: u64 = 170;
/// When the size is unknown: the documented 1024×1024 example (→ 768×768, four tiles).
pub const DEFAULT_HIGH_TOKENS: u64 = BASE_TOKENS + 4 * TILE_TOKENS;

/// Headers sit at the start, but a JPEG's frame header can follow large EXIF/ICC segments.
const MAX_SNIFF_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Low,
    High,
}

/// `detail` high/auto: fit into 2048×2048, shrink so the short side is at most 768, then
/// 170 per 512-px tile plus 85.
pub fn image_tokens(detail: Detail, size: Option<(u64, u64)>) -> u64 {
    if detail == Detail::Low {
        return BASE_TOKENS;
    }
    let Some((w, h)) = size.filter(|&(w, h)| w > 0 && h > 0) else {
        return DEFAULT_HIGH_TOKENS;
    };
    let (mut w, mut h) = (w as f64, h as f64);
    let longest = w.max(h);
    if longest > 2048.0 {
        let r = 2048.0 / longest;
        w = (w * r).floor();
        h = (h * r).floor();
    }
    let shortest = w.min(h);
    if shortest > 768.0 {
        let r = 768.0 / shortest;
        w = (w * r).floor();
        h = (h * r).floor();
    }
    let tiles = (w.max(1.0) / 512.0).ceil() as u64 * (h.max(1.0) / 512.0).ceil() as u64;
    BASE_TOKENS + TILE_TOKENS * tiles
}

/// Width and height of a base64 `data:` URL holding a PNG, GIF, JPEG or WebP; None otherwise.
pub fn data_url_size(url: &str) -> Option<(u64, u64)> {
    let rest = url.strip_prefix("data:")?;
    let comma = rest.find(',')?;
    if !rest[..comma].ends_with(";base64") {
        return None;
    }
    let payload = &rest.as_bytes()[comma + 1..];
    // PNG, GIF and WebP answer from their first 30 bytes; only JPEG needs more.
    let head = b64_decode_prefix(payload, 32);
    if head.starts_with(b"\xFF\xD8") {
        return jpeg_size(&b64_decode_prefix(payload, MAX_SNIFF_BYTES));
    }
    header_size(&head)
}

fn header_size(b: &[u8]) -> Option<(u64, u64)> {
    let be32 = |i: usize| {
        b.get(i..i + 4)
            .map(|s| u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
    };
    let le16 = |i: usize| {
        b.get(i..i + 2)
            .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
    };
    let le24 = |i: usize| {
        b.get(i..i + 3)
            .map(|s| u64::from(s[0]) | u64::from(s[1]) << 8 | u64::from(s[2]) << 16)
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                Some((
                    u64::from(bits & 0x3FFF) + 1,
                    u64::from((bits >> 14) & 0x3FFF) + 1,
                ))
            }
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            _ => None,
        };
    }
    None
}

fn jpeg_size(b: &[u8]) -> Option<(u64, u64)> {
    let mut i = 2;
    loop {
        // Markers may be padded with any number of 0xFF fill bytes.
        while *b.get(i)? == 0xFF && *b.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]));
        // SOF0..SOF15, minus DHT (C4), JPG (C8) and DAC (CC), carry the frame size.
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([*b.get(i + 5)?, *b.get(i + 6)?]);
            let w = u16::from_be_bytes([*b.get(i + 7)?, *b.get(i + 8)?]);
            return Some((u64::from(w), u64::from(h)));
        }
        if marker == 0xD9 || marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
}

/// Decodes standard or URL-safe base64 until `max` bytes, padding, or the first invalid byte.
fn b64_decode_prefix(src: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(max.min(src.len() / 4 * 3 + 3));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in src {
        if out.len() >= max {
            break;
        }
        let Some(v) = crate::b64::value(c) else { break };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..=c.len() {
                s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            }
        }
        s
    }

    #[test]
    fn documented_examples() {
        assert_eq!(image_tokens(Detail::Low, Some((4096, 4096))), 85);
        assert_eq!(image_tokens(Detail::High, Some((1024, 1024))), 765);
        assert_eq!(image_tokens(Detail::High, Some((2048, 4096))), 1105);
        assert_eq!(image_tokens(Detail::High, Some((100, 100))), 255);
        assert_eq!(image_tokens(Detail::High, None), DEFAULT_HIGH_TOKENS);
        assert_eq!(
            image_tokens(Detail::High, Some((0, 10))),
            DEFAULT_HIGH_TOKENS
        );
    }

    #[test]
    fn png_gif_webp_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&1920u32.to_be_bytes());
        png.extend_from_slice(&1080u32.to_be_bytes());
        png.extend_from_slice(b"\x08\x02\0\0\0");
        assert_eq!(
            data_url_size(&format!("data:image/png;base64,{}", b64(&png))),
            Some((1920, 1080))
        );

        let gif = b"GIF89a\x40\x01\xf0\x00\x00\x00";
        assert_eq!(
            data_url_size(&format!("data:image/gif;base64,{}", b64(gif))),
            Some((320, 240))
        );

        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0xFF, 0x0F, 0x00, 0x37, 0x04, 0x00]); // 4096 x 1080
        assert_eq!(
            data_url_size(&format!("data:image/webp;base64,{}", b64(&webp))),
            Some((4096, 1080))
        );
    }

    #[test]
    fn jpeg_frame_after_a_large_app_segment() {
        let mut jpg = b"\xFF\xD8\xFF\xE1".to_vec();
        jpg.extend_from_slice(&5002u16.to_be_bytes());
        jpg.extend(std::iter::repeat(0u8).take(5000));
        jpg.extend_from_slice(b"\xFF\xC2\x00\x11\x08");
        jpg.extend_from_slice(&600u16.to_be_bytes());
        jpg.extend_from_slice(&800u16.to_be_bytes());
        jpg.extend_from_slice(&[3, 0, 0, 0]);
        assert_eq!(
            data_url_size(&format!("data:image/jpeg;base64,{}", b64(&jpg))),
            Some((800, 600))
        );
    }

    #[test]
    fn not_an_inline_image() {
        assert_eq!(data_url_size("https://example.invalid/cat.png"), None);
        assert_eq!(data_url_size("data:image/png,rawbytes"), None);
        assert_eq!(data_url_size("data:image/png;base64,AAAA"), None);
        assert_eq!(data_url_size("data:image/jpeg;base64,/9j/"), None);
    }
}
