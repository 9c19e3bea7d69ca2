//! PORT IN PROGRESS (helper): photos on PostgreSQL (see sqlite_photos.rs).

use super::{PgStorage, Tx};
use crate::docs::Decoded;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::{ChunkOutcome, Device, PhotoChunk, PhotoUpload};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

pub(super) fn index_photo_refs(
    _tx: &mut Tx<'_>,
    _doc_id: &str,
    _decoded: &Decoded,
) -> StorageResult<()> {
    Ok(())
}

impl PgStorage {
    pub(super) fn photo_upload_state(&self, _sha256: &str) -> StorageResult<PhotoUpload> {
        todo()
    }
    pub(super) fn append_photo_chunk(
        &self,
        _chunk: &PhotoChunk<'_>,
        _now_ms: i64,
    ) -> StorageResult<ChunkOutcome> {
        todo()
    }
    pub(super) fn photo_visible_to(&self, _device: &Device, _sha256: &str) -> StorageResult<bool> {
        todo()
    }
    pub(super) fn photo_data(&self, _sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        todo()
    }
    pub(super) fn thumbnail_data(&self, _sha256: &str) -> StorageResult<Option<(String, Vec<u8>)>> {
        todo()
    }
}
