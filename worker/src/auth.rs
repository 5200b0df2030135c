//! API keys and room roles.
//!
//! Keys are never stored: AUTH's `api_keys.key_hash` holds the lower-case hex
//! SHA-256 of the key, and a key with `revoked_at` set no longer works.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Looks up a live key by its hash: the owner's `user_id`, if any.
pub const KEY_OWNER_SQL: &str =
    "SELECT user_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL LIMIT 1";

/// The room (if it exists) and the caller's permission in it (if any), in one
/// query: `room_id` is NULL when the room does not exist.
pub const ROOM_ROLE_SQL: &str = "SELECT r.id AS room_id, p.role AS role \
     FROM (SELECT ?1 AS wanted) AS q \
     LEFT JOIN rooms AS r ON r.id = q.wanted \
     LEFT JOIN room_permissions AS p ON p.room_id = r.id AND p.user_id = ?2";

/// The lower-case hex SHA-256 of a key, as `api_keys.key_hash` stores it.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The key in an `Authorization: Bearer <key>` header (the scheme is
/// case-insensitive); `None` when there is no usable key.
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let header = header?.trim();
    let (scheme, key) = header.split_once(char::is_whitespace)?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty() && !key.contains(char::is_whitespace))
        .then_some(key)
}

/// A user's role in a room, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Editor,
    Viewer,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// Every role may read the room.
    pub fn can_read(self) -> bool {
        true
    }

    /// Owners and editors may change the room's contents.
    pub fn can_edit(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }

    /// Only owners may change who has access.
    pub fn can_manage(self) -> bool {
        self == Role::Owner
    }
}

/// Why a caller has no role in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No such room (404).
    UnknownRoom,
    /// The room exists, the caller has no permission in it (403).
    NoPermission,
    /// The stored role is not one this worker knows (500: the schema's CHECK
    /// constraint should make this impossible).
    InvalidRole(String),
}

/// Decides access from what [`ROOM_ROLE_SQL`] found.
pub fn room_role(room_exists: bool, role: Option<&str>) -> Result<Role, Denied> {
    if !room_exists {
        return Err(Denied::UnknownRoom);
    }
    let role = role.ok_or(Denied::NoPermission)?;
    Role::parse(role).ok_or_else(|| Denied::InvalidRole(role.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_keys_as_lowercase_hex_sha256() {
        // Known SHA-256 test vectors.
        assert_eq!(
            hash_key(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(hash_key("key-1"), hash_key("key-2"));
    }

    #[test]
    fn reads_bearer_keys() {
        assert_eq!(bearer_token(Some("Bearer abc123")), Some("abc123"));
        assert_eq!(bearer_token(Some("bearer  abc123 ")), Some("abc123"));
        assert_eq!(bearer_token(Some("BEARER\tabc")), Some("abc"));
    }

    #[test]
    fn rejects_missing_or_malformed_authorization() {
        for header in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic abc123"),
            Some("abc123"),
            Some("Bearer a b"),
            Some("Bearerabc"),
        ] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }

    #[test]
    fn roles_parse_and_check() {
        for role in [Role::Owner, Role::Editor, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::Value::String(role.as_str().into())
            );
            assert!(role.can_read());
        }
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse("admin"), None);
        assert!(Role::Owner.can_edit() && Role::Editor.can_edit() && !Role::Viewer.can_edit());
        assert!(
            Role::Owner.can_manage() && !Role::Editor.can_manage() && !Role::Viewer.can_manage()
        );
        assert!(Role::Owner < Role::Editor && Role::Editor < Role::Viewer);
    }

    #[test]
    fn room_access_decisions() {
        assert_eq!(room_role(false, None), Err(Denied::UnknownRoom));
        // A permission row cannot exist for an unknown room, but if the
        // lookup said so, an unknown room still wins.
        assert_eq!(room_role(false, Some("owner")), Err(Denied::UnknownRoom));
        assert_eq!(room_role(true, None), Err(Denied::NoPermission));
        assert_eq!(room_role(true, Some("editor")), Ok(Role::Editor));
        assert_eq!(
            room_role(true, Some("admin")),
            Err(Denied::InvalidRole("admin".into()))
        );
    }
}
