//! Testing a mailbox as its user would: IMAP LOGIN over a plain TCP connection (the
//! test and office-internal listeners on 127.0.0.1 / the LAN), and a welcome message
//! sent over SMTP and seen arriving in INBOX. Tiny on purpose: a few commands each.
//!
//! Every line a server sends passes [`redact`] as it is read: a server (or a proxy)
//! that quotes the LOGIN command back cannot put the password into a message.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

use super::Secret;
use super::redact::redact_owned;

type R<T> = Result<T, String>;

struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn open(addr: &str) -> R<Self> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        // A command goes out as two writes (text, then CRLF): with Nagle on, the
        // second waits for the server's delayed ACK, 40 ms per command.
        let _ = s.set_nodelay(true);
        let w = s.try_clone().map_err(|e| e.to_string())?;
        Ok(Conn {
            r: BufReader::new(s),
            w,
        })
    }

    fn line(&mut self) -> R<String> {
        let mut l = String::new();
        match self.r.read_line(&mut l) {
            Ok(0) => Err("connection closed".into()),
            Ok(_) => {
                let line = redact_owned(l.trim_end().to_string());
                l.zeroize();
                Ok(line)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn send(&mut self, text: &str) -> R<()> {
        self.w
            .write_all(text.as_bytes())
            .and_then(|_| self.w.write_all(b"\r\n"))
            .map_err(|e| e.to_string())
    }

    /// Sends a tagged IMAP command; returns the untagged lines, or the failure.
    fn imap(&mut self, tag: &str, cmd: &str) -> R<Vec<String>> {
        // `cmd` may hold the password: so does this copy, wiped after sending.
        self.send(&Zeroizing::new(format!("{tag} {cmd}")))?;
        let mut lines = Vec::new();
        loop {
            let l = self.line()?;
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(lines)
                } else {
                    Err(rest.to_string())
                };
            }
            lines.push(l);
        }
    }

    /// Reads one SMTP reply (multi-line aware), failing unless it starts with `want`.
    fn smtp_reply(&mut self, want: char) -> R<()> {
        loop {
            let l = self.line()?;
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                return if l.starts_with(want) { Ok(()) } else { Err(l) };
            }
        }
    }
}

/// IMAP string literal for a user name or password (quoted; they hold no quotes).
fn quoted(s: &str) -> R<String> {
    if s.contains(['"', '\\', '\r', '\n']) {
        return Err("value cannot be sent as a quoted IMAP string".into());
    }
    Ok(format!("\"{s}\""))
}

fn login(addr: &str, user: &str, password: &Secret) -> R<Conn> {
    let mut c = Conn::open(addr)?;
    c.line()?; // greeting
    let cmd = Zeroizing::new(format!(
        "LOGIN {} {}",
        quoted(user)?,
        Zeroizing::new(quoted(password.expose())?).as_str()
    ));
    // The reply (echoing the command, maybe) was redacted as it was read.
    c.imap("a1", &cmd)
        .map_err(|e| format!("login refused ({e})"))?;
    Ok(c)
}

/// Logs in and out; Ok when the server accepted the credentials.
pub fn imap_login(addr: &str, user: &str, password: &Secret) -> R<()> {
    let mut c = login(addr, user, password)?;
    let _ = c.imap("a9", "LOGOUT");
    Ok(())
}

/// The number of messages in INBOX.
pub fn inbox_count(addr: &str, user: &str, password: &Secret) -> R<u64> {
    let mut c = login(addr, user, password)?;
    let lines = c.imap("a2", "STATUS INBOX (MESSAGES)")?;
    let _ = c.imap("a9", "LOGOUT");
    lines
        .iter()
        .find_map(|l| {
            let i = l.find("MESSAGES ")?;
            l[i + 9..]
                .trim_end_matches(')')
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| "no MESSAGES in STATUS reply".into())
}

/// Polls INBOX until a message is there (delivery is asynchronous), up to ~60 s.
pub fn wait_for_mail(addr: &str, user: &str, password: &Secret) -> R<()> {
    for _ in 0..120 {
        if inbox_count(addr, user, password)? > 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err("no message arrived in INBOX".into())
}

/// Sends the welcome message over SMTP (no auth: the office's internal relay).
pub fn send_welcome(addr: &str, to: &str, tickets: &[String]) -> R<()> {
    let domain = to.split_once('@').map_or("localhost", |(_, d)| d);
    let from = format!("postmaster@{domain}");
    let mut c = Conn::open(addr)?;
    c.smtp_reply('2')?;
    c.send("EHLO loket")?;
    c.smtp_reply('2')?;
    c.send(&format!("MAIL FROM:<{from}>"))?;
    c.smtp_reply('2')?;
    c.send(&format!("RCPT TO:<{to}>"))?;
    c.smtp_reply('2')?;
    c.send("DATA")?;
    c.smtp_reply('3')?;
    let body = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Selamat datang / Welcome\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Akun email Anda telah dibuat (tiket {}).\r\n\
         Your mail account has been created.\r\n.",
        tickets.join(", ")
    );
    c.send(&body)?;
    c.smtp_reply('2')?;
    c.send("QUIT")?;
    Ok(())
}
