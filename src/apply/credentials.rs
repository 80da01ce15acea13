//! Credentials: passwords from the OS-seeded CSPRNG, hashed for the systems
//! (SHA512-CRYPT), and the plaintext sealed with age to the applicant's recipient key
//! (`age1…` or `ssh-ed25519 …`), or the office admin's key, into the outbox as
//! `<ticket>.age`. The plaintext exists only in memory and in that sealed file.

use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use rand::{Rng, RngExt};
use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};
use thiserror::Error;
use zeroize::Zeroizing;

use super::Secret;

/// No look-alikes (0/O, 1/l/I) so a password read aloud or retyped survives.
const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 20 symbols of 57: about 116 bits.
const LENGTH: usize = 20;

#[derive(Debug, Error)]
pub enum CredentialError {
    #[error(
        "no key to seal the password to: the request has no `applicant.recipient` and \
         loket.toml has no `backends.admin-recipient`"
    )]
    NoRecipient,
    #[error(
        "recipient `{0}` is not an age (`age1…`) or SSH (`ssh-ed25519 …`, `ssh-rsa …`) public key"
    )]
    BadRecipient(String),
    #[error("sealing failed: {0}")]
    Seal(String),
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// A fresh random password.
pub fn generate_password() -> Secret {
    let mut rng = rand::rng();
    // Sized up front: a growing String would leave unwiped copies behind.
    let mut text = String::with_capacity(LENGTH);
    for _ in 0..LENGTH {
        text.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    Secret::new(text)
}

/// `$6$rounds=5000$salt$hash` (SHA512-CRYPT) with a random 16-byte salt.
pub fn sha512_crypt(password: &Secret) -> Result<String, CredentialError> {
    let mut salt = [0u8; 12];
    rand::rng().fill_bytes(&mut salt);
    ShaCrypt::SHA512
        .hash_password_with_salt(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// Whether `password` matches a `$6$…`/`$5$…` crypt hash.
pub fn crypt_matches(password: &Secret, hash: &str) -> bool {
    ShaCrypt::SHA512
        .verify_password(password.expose().as_bytes(), hash)
        .is_ok()
}

/// Parses an age or SSH recipient.
pub fn recipient(text: &str) -> Result<Box<dyn age::Recipient + Send>, CredentialError> {
    let t = text.trim();
    if t.starts_with("age1") {
        age::x25519::Recipient::from_str(t)
            .map(|r| Box::new(r) as _)
            .map_err(|_| CredentialError::BadRecipient(t.into()))
    } else {
        age::ssh::Recipient::from_str(t)
            .map(|r| Box::new(r) as _)
            .map_err(|_| CredentialError::BadRecipient(t.into()))
    }
}

/// Encrypts `message` to `recipient` (binary age format).
pub fn seal(message: &str, recipient: &dyn age::Recipient) -> Result<Vec<u8>, CredentialError> {
    let err = |e: &dyn std::fmt::Display| CredentialError::Seal(e.to_string());
    let enc = age::Encryptor::with_recipients(std::iter::once(recipient)).map_err(|e| err(&e))?;
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).map_err(|e| err(&e))?;
    w.write_all(message.as_bytes()).map_err(|e| err(&e))?;
    w.finish().map_err(|e| err(&e))?;
    Ok(out)
}

/// The letter sealed for the applicant (Indonesian, then English); wiped on drop.
pub fn credential_message(ticket: &str, address: &str, password: &Secret) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "Tiket / Ticket: {ticket}\nAkun / Account: {address}\nKata sandi / Password: {}\n\n\
         Segera ganti kata sandi ini setelah masuk pertama kali.\n\
         Please change this password after your first login.\n",
        password.expose()
    ))
}

/// The folder sealed credentials are written to.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub dir: PathBuf,
}

impl Outbox {
    pub fn path_for(&self, ticket: &str) -> PathBuf {
        self.dir.join(format!("{ticket}.age"))
    }

    /// Seals and writes atomically (0600); replaces an earlier file of the ticket.
    pub fn deliver(
        &self,
        ticket: &str,
        message: &str,
        recipient: &dyn age::Recipient,
    ) -> Result<PathBuf, super::ApplyError> {
        self.check_name(ticket)?;
        self.write(ticket, &seal(message, recipient)?)
    }

    /// Refuses a ticket that cannot name a file of the outbox.
    pub fn check_name(&self, ticket: &str) -> Result<(), super::ApplyError> {
        if ticket.is_empty() || ticket.starts_with('.') || ticket.contains(['/', '\\', '\0']) {
            return Err(super::ApplyError::State {
                path: self.dir.clone(),
                message: format!("{ticket:?} cannot name a file in the outbox"),
            });
        }
        Ok(())
    }

    /// Writes a sealed file atomically (0600), replacing an earlier file of the
    /// ticket. The outbox is a 0700 directory of this user, never a link; an entry
    /// that is not a regular file of this user is refused, not replaced.
    pub fn write(&self, ticket: &str, sealed: &[u8]) -> Result<PathBuf, super::ApplyError> {
        self.check_name(ticket)?;
        // Only the operator may list or read the outbox.
        super::fsutil::private_dir(&self.dir)?;
        let path = self.path_for(ticket);
        super::fsutil::check_private_file(&path)?;
        super::fsutil::atomic_write(&path, sealed, 0o600, None)?;
        Ok(path)
    }

    /// Makes the outbox loket's private directory and removes the temp files a
    /// killed run left in it.
    pub fn prepare(&self) -> Result<(), super::ApplyError> {
        super::fsutil::private_dir(&self.dir)?;
        super::fsutil::remove_stale_temps(&self.dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn passwords_are_random_and_hash_verifies() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), LENGTH);
        let h = sha512_crypt(&a).unwrap();
        assert!(h.starts_with("$6$"), "{h}");
        assert!(crypt_matches(&a, &h));
        assert!(!crypt_matches(&b, &h));
        assert!(!format!("{a:?}{a}").contains(a.expose()));
    }

    #[test]
    fn sealed_to_age_key_opens_with_identity() {
        let id = age::x25519::Identity::generate();
        let r = recipient(&id.to_public().to_string()).unwrap();
        let pw = generate_password();
        let sealed = seal(&credential_message("KDS-X", "a@b", &pw), r.as_ref()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains(pw.expose()));
        let dec = age::Decryptor::new(&sealed[..]).unwrap();
        let mut out = String::new();
        dec.decrypt(std::iter::once(&id as &dyn age::Identity))
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(out.contains(pw.expose()));
    }

    #[test]
    fn bad_recipient_is_refused() {
        assert!(matches!(
            recipient("ssh-dss AAAA"),
            Err(CredentialError::BadRecipient(_))
        ));
        assert!(recipient("age1notakey").is_err());
    }
}
