"""Portfolio themes: every request clustered by meaning (k-means, k by the elbow and the
silhouette), named by distinctive keywords, kept stable from run to run.

`portfolio` finds them, `selection` chooses k, `naming` names them, `tracking` keeps ids and
labels across runs, `store` reads and writes the warehouse, `charts` draws them and `evaluate`
measures them (`impacting eval --section themes`)."""
