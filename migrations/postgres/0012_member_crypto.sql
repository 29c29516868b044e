-- Issue #4: ID numbers and phones encrypted at rest (see src/crypto.rs, docs/CRYPTO.md).
-- `id_number` and `phone` now hold SM4-GCM ciphertexts (`v1.<key id>.<base64url>`); their old
-- unique constraint stays (harmless over random ciphertexts; SQLite cannot drop it without
-- rebuilding the table). Uniqueness and lookup by the full ID number move to `id_hash`, a
-- keyed SM3-HMAC blind index; `id_suffix` becomes a keyed hash of the last four characters.
-- Rows from before are encrypted at the next start by the same pass that rotates keys;
-- until then `id_hash` is null, which a unique index allows any number of times.
alter table member add column id_hash text;
create unique index member_id_hash on member(id_hash);
