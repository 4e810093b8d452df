# Synthetic "Say A B" -> "A B" dialogues over 30 words; held-out pairs never trained on.
BEGIN {
	n = split("cat dog ball tree sun bird fish car cake box hat boy girl mom dad red blue big park toy book bed door rain moon star frog duck bear cup", w, " ")
	for (i = 1; i <= n; i++) for (j = 1; j <= n; j++) {
		held = (i * 7 + j * 3) % 10 == 0
		if (mode == "held" && held && (i + j) % 2 == 0)
			printf("{\"messages\": [{\"role\": \"user\", \"content\": \"Say %s %s\"}]}\n", w[i], w[j])
		if (mode == "train" && !held && (i * 5 + j) % 3 == 0)
			printf("{\"messages\": [{\"role\": \"user\", \"content\": \"Say %s %s\"}, {\"role\": \"assistant\", \"content\": \"%s %s\"}]}\n", w[i], w[j], w[i], w[j])
	}
}
