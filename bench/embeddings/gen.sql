-- Feature-level workload: N entities, 10 classes, three modalities of ${D}-dim
-- float32 embeddings (list<float>, ~95% coverage each) whose class signal is a
-- shift of the dimensions k ≡ label (mod 10), of a different strength per
-- modality; labels with a train/test split (80/20 by key hash).
-- ${N}, ${D} and ${DIR} are substituted by the caller.
SET threads=2;
CREATE OR REPLACE MACRO emb(i, strength) AS
  list_transform(range(${D}), k -> (random() - 0.5 + CASE WHEN k % 10 = i % 10 THEN strength ELSE 0.0 END)::FLOAT);
COPY (SELECT i AS entity_id, (i % 10)::INTEGER AS label, CASE WHEN hash(i, 'split') % 5 = 0 THEN 'test' ELSE 'train' END AS split FROM range(${N}) t(i))
  TO '${DIR}/labels/part-0.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);
COPY (SELECT i AS entity_id, emb(i, 0.06) AS emb FROM range(${N}) t(i) WHERE hash(i, 'text') % 100 < 95)
  TO '${DIR}/modality=text/part-0.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);
COPY (SELECT i AS entity_id, emb(i, 0.04) AS emb FROM range(${N}) t(i) WHERE hash(i, 'image') % 100 < 95)
  TO '${DIR}/modality=image/part-0.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);
COPY (SELECT i AS entity_id, emb(i, 0.03) AS emb FROM range(${N}) t(i) WHERE hash(i, 'audio') % 100 < 95)
  TO '${DIR}/modality=audio/part-0.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);
