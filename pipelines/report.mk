# report: every stage, then a table of what each one did, on standard output
# and in $(WORK)/report.txt; with gnuplot installed, the loss curves in
# $(WORK)/loss.png.

# The planted-dirt manifest of a bundled corpus, to score deduplication against.
MANIFEST ?= $(if $(filter samples/corpus.jsonl.gz,$(RAW)),samples/manifest.json,$(if \
	$(filter samples/corpus-tiny.jsonl.gz,$(RAW)),samples/manifest-tiny.json))

# $(call num,FILE,KEY): the number KEY has in the first JSON line of FILE that has it
num = $$(sed -n 's/.*"$(2)": *\([-0-9.eE+]*\).*/\1/p' $(1) | head -1)
lines = $$(gzip -dcf $(1) | grep -c .)

report: $(WORK)/report.txt
	@cat $(WORK)/report.txt

$(WORK)/report.txt: $(WORK)/mix.jsonl $(WORK)/val.bin $(WORK)/chat.jsonl \
		$(WORK)/sft-score.jsonl $(WORK)/pretrain-score.jsonl $(WORK)/pretrain-loss.jsonl \
		$(WORK)/sft-loss.jsonl $(WORK)/pretrain-sft-loss.jsonl $(WORK)/rm-helpful-eval.jsonl \
		$(WORK)/rm-safety-eval.jsonl $(WORK)/rm-shuffled-eval.jsonl $(WORK)/rm-random-eval.jsonl \
		$(WORK)/bow-eval.json pipelines/report.mk pipelines/rm-table.pl
	@{ \
	echo "== data: $(RAW)"; \
	echo "   documents: raw $(call lines,$(RAW)), kept by clean $(call lines,$(WORK)/clean.jsonl)," \
	     "kept by dedup $(call lines,$(WORK)/dedup.jsonl) (train $(call lines,$(WORK)/train.jsonl)," \
	     "val $(call lines,$(WORK)/val.jsonl)); pretraining mix $(call lines,$(WORK)/mix.jsonl)" \
	     "$(if $(UPSAMPLE),(repeated: $(UPSAMPLE)),)"; \
	if [ -n "$(MANIFEST)" ]; then \
		echo "   dedup recall against the planted copies (samples/score.pl; pairs that clean broke up count as missed):"; \
		perl -MJSON::PP -e '$$k{ decode_json($$_)->{id} } = 1 while <STDIN>; while (<>) { my $$i = decode_json($$_)->{id}; print encode_json({ id => $$i }), "\n" unless $$k{$$i} }' \
			$(WORK)/clean.jsonl <$(WORK)/dedup.jsonl >$(WORK)/removed.jsonl; \
		perl samples/score.pl $(MANIFEST) $(RAW) --removed $(WORK)/removed.jsonl | sed 's/^dedup: /     /'; \
	fi; \
	echo "== tokenizer: $(WORK)/tok.model"; \
	perl -MJSON::PP -ne '$$b += length(decode_json($$_)->{text}) }{ print "$$b\n"' $(WORK)/val.jsonl >$(WORK)/.bytes; \
	$(BIN)/lm-info $(WORK)/val.bin >$(WORK)/.info; \
	awk -v bytes=$$(cat $(WORK)/.bytes) '/^vocab_size:/ { v = $$2 } /^tokens:/ { t = $$2 } /^docs:/ { d = $$2 } \
		END { printf "   %d pieces; %.3f bytes of text per token on the held-out val.jsonl (%d tokens, BOS left out)\n", \
		      v, bytes / (t - d), t - d }' $(WORK)/.info; \
	echo "== pretrain: $(WORK)/pretrain.safetensors"; \
	echo "   $(call num,$(WORK)/pretrain.metrics.jsonl,n_params) parameters, $$(grep -c '"loss"' $(WORK)/pretrain.metrics.jsonl) steps;" \
	     "training loss $$(sed -n '2s/.*"loss":\([0-9.]*\).*/\1/p' $(WORK)/pretrain.metrics.jsonl) ->" \
	     "$$(tail -1 $(WORK)/pretrain.metrics.jsonl | sed 's/.*"loss":\([0-9.]*\).*/\1/')"; \
	echo "   val loss $(call num,$(WORK)/pretrain-loss.jsonl,loss) nats/token (perplexity" \
	     "$(call num,$(WORK)/pretrain-loss.jsonl,perplexity)); unigram entropy of val.bin" \
	     "$(call num,$(WORK)/pretrain-loss.jsonl,unigram_entropy) nats/token"; \
	echo "== sft: $(WORK)/sft.safetensors"; \
	echo "   val loss on held-out dialogues' answers: $(call num,$(WORK)/pretrain-sft-loss.jsonl,loss) before SFT," \
	     "$(call num,$(WORK)/sft-loss.jsonl,loss) after (unigram entropy" \
	     "$(call num,$(WORK)/sft-loss.jsonl,unigram_entropy))"; \
	echo "== eval: $(WORK)/eval.jsonl, greedy replies in the chat template"; \
	printf '   %-22s %6s %9s %7s %7s %8s %7s %8s\n' model facts accuracy exact unsafe refused benign refused; \
	for m in pretrain sft; do f=$(WORK)/$$m-score.jsonl; \
		printf '   %-22s %6s %9s %7s %7s %8s %7s %8s\n' \
		"$$( [ $$m = sft ] && echo 'sft' || echo 'pretrained (baseline)')" \
		$(call num,$$f,facts) $(call num,$$f,accuracy) $(call num,$$f,exact_match) $(call num,$$f,unsafe) \
		$(call num,$$f,refusal_rate) $(call num,$$f,benign) $(call num,$$f,benign_refusal_rate); \
	done; \
	echo "== rm: held-out preference pairs, accuracy % [95% interval]"; \
	perl pipelines/rm-table.pl "helpfulness (helpful)=$(WORK)/rm-helpful-eval.jsonl" \
		"safety (safe)=$(WORK)/rm-safety-eval.jsonl" "shuffled labels (helpful)=$(WORK)/rm-shuffled-eval.jsonl" \
		"from random init (helpful)=$(WORK)/rm-random-eval.jsonl" "bag-of-words (helpful)=$(WORK)/bow-eval.json"; \
	perl -MJSON::PP -ne '$$r = decode_json($$_); printf "   safety model: rejected replies of safe pairs flagged unsafe (sigmoid < 0.15): precision %.1f%%, recall %.1f%%\n", 100 * $$r->{precision}, 100 * $$r->{recall} if $$r->{group} eq "unsafe"' \
		$(WORK)/rm-safety-eval.jsonl; \
	echo "== chat: $(WORK)/chat.jsonl"; \
	perl -MJSON::PP -ne 'my $$m = JSON::PP->new->decode($$_)->{messages}; binmode STDOUT, ":utf8"; \
		print "   > $$m->[-2]{content}\n     $$m->[-1]{content}\n"' $(WORK)/chat.jsonl; \
	} >$@.tmp && mv $@.tmp $@
	@rm -f $(WORK)/.bytes $(WORK)/.info
	@if command -v gnuplot >/dev/null; then \
		sed -n 's/.*"step":\([0-9]*\),"loss":\([0-9.]*\).*/\1 \2/p' $(WORK)/pretrain.metrics.jsonl >$(WORK)/pretrain.loss.dat; \
		sed -n 's/.*"step":\([0-9]*\),"loss":[0-9.]*,"val_loss":\([0-9.]*\).*/\1 \2/p' $(WORK)/pretrain.metrics.jsonl >$(WORK)/pretrain.val.dat; \
		{ echo 'set terminal png size 800,500'; echo 'set output "$(WORK)/loss.png"'; \
		  echo 'set xlabel "step"; set ylabel "loss (nats/token)"'; \
		  echo 'plot "$(WORK)/pretrain.loss.dat" with lines title "pretrain, training batches",' \
		       '"$(WORK)/pretrain.val.dat" with linespoints title "pretrain, val.bin"'; } >$(WORK)/loss.gp; \
		if gnuplot $(WORK)/loss.gp; then echo "loss curves: $(WORK)/loss.png"; else echo "gnuplot failed: no plot"; fi; \
	fi
