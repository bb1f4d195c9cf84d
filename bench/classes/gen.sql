-- Many-class workload for the evaluation's memory: N entities, K classes, three
-- modalities of K-class probabilities (list<float>), labels with a train/test
-- split (80/20 by key hash). ${N}, ${K} and ${DIR} are substituted by the caller.
SET threads=2;
CREATE OR REPLACE MACRO logits(i, strength) AS
  list_transform(range(${K}), k -> exp(CASE WHEN k = (i % ${K}) THEN strength ELSE 0.0 END + 3.0 * random()));
COPY (SELECT i AS entity_id, (i % ${K})::INTEGER AS label, CASE WHEN hash(i, 'split') % 5 = 0 THEN 'test' ELSE 'train' END AS split FROM range(${N}) t(i))
  TO '${DIR}/labels/part-0.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT entity_id, list_transform(e, x -> x / list_sum(e))::FLOAT[] AS probs FROM (SELECT i AS entity_id, logits(i, 3.0) AS e FROM range(${N}) t(i)))
  TO '${DIR}/modality=text/part-0.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT entity_id, list_transform(e, x -> x / list_sum(e))::FLOAT[] AS probs FROM (SELECT i AS entity_id, logits(i, 2.5) AS e FROM range(${N}) t(i)))
  TO '${DIR}/modality=image/part-0.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT entity_id, list_transform(e, x -> x / list_sum(e))::FLOAT[] AS probs FROM (SELECT i AS entity_id, logits(i, 2.0) AS e FROM range(${N}) t(i)))
  TO '${DIR}/modality=audio/part-0.parquet' (FORMAT parquet, COMPRESSION zstd);
