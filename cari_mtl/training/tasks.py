"""The three tasks and the parts of the network the training addresses by name (the network file's
layer and output names), defined once for the steps, the weightings and the guards.

Task order (the columns of the task weights and of L1..L3): 1 = verification (every image),
2 = photo identification (photos only), 3 = caricature identification (caricatures only).
"""

NROF_TASKS = 3
BRANCHES = (("logits_verif", "embeddings"), ("logits_visual", "embeddings_visual"),
            ("logits_cari", "embeddings_cari"))  # per task: (logits output, embeddings output)
WEIGHTS_HEAD = "Logits_lossweights"  # the only trained layer of Ψ
HEAD_INPUT = "Logits_lossweights_input"  # the layer flattening the trunk's output for Ψ
SHARED_FEATURES = "shared_features"  # the trunk's output, which every branch and Ψ read
