# rm: the two reward models of Llama 2 (helpfulness and safety), each the SFT
# model with its vocabulary head replaced by a score head, trained on rated
# preference pairs (PREFS_DATA; its "split": "eval" pairs are held out), and
# measured on the held-out pairs beside three controls: the helpfulness mix
# with its labels shuffled, the same training from random weights, and a
# shallow baseline (pairwise logistic regression on bag-of-words and length
# features, samples/bow.c).
#   $(WORK)/prefs-{train,eval}.jsonl          the pairs, split
#   $(WORK)/prefs-{helpful,safety}.jsonl      the two training mixes (the paper's:
#        all helpful pairs and as many safety pairs; all safety pairs and helpful ones at 90/10)
#   $(WORK)/prefs-eval-{helpful,safe}.jsonl   held-out pairs of each kind
#   $(WORK)/rm-{helpful,safety}.safetensors   the reward models (+ .metrics.jsonl; .part while they train)
#   $(WORK)/rm-{helpful,safety}-eval.jsonl    lm-rm eval on the held-out pairs of their kind
#   $(WORK)/rm-{shuffled,random}-eval.jsonl   the controls, on the held-out helpful pairs
#   $(WORK)/bow-eval.json                     the shallow baseline, on the same pairs

PREFS_DATA ?= samples/prefs.jsonl

rm: rm-helpful rm-safety $(WORK)/rm-shuffled-eval.jsonl $(WORK)/rm-random-eval.jsonl $(WORK)/bow-eval.json
rm-helpful: $(WORK)/rm-helpful.safetensors $(WORK)/rm-helpful-eval.jsonl
rm-safety: $(WORK)/rm-safety.safetensors $(WORK)/rm-safety-eval.jsonl

$(WORK)/prefs-train.jsonl: $(PREFS_DATA) | $(WORK)
	awk '!/"split": *"eval"/' $(PREFS_DATA) >$@
$(WORK)/prefs-eval.jsonl: $(PREFS_DATA) | $(WORK)
	awk '/"split": *"eval"/' $(PREFS_DATA) >$@
$(WORK)/prefs-eval-helpful.jsonl $(WORK)/prefs-eval-safe.jsonl: $(WORK)/prefs-eval-%.jsonl: $(WORK)/prefs-eval.jsonl
	awk '/"kind": *"$*"/' $< >$@

# helpful: every helpful pair, then safety pairs spread evenly, as many as
# there are helpful ones (or all); safety: every safety pair, then one helpful
# pair for each nine safety pairs, spread evenly
$(WORK)/prefs-helpful.jsonl $(WORK)/prefs-safety.jsonl: $(WORK)/prefs-%.jsonl: $(WORK)/prefs-train.jsonl
	awk -v want=$* '/"kind": *"safe"/ { s[ns++] = $$0; next } { h[nh++] = $$0 } END { \
		if (want == "helpful") { for (i = 0; i < nh; i++) print h[i]; k = nh < ns ? nh : ns; \
			for (i = 0; i < k; i++) print s[int(i * ns / k)] } \
		else { for (i = 0; i < ns; i++) print s[i]; k = int((ns + 8) / 9); if (k > nh) k = nh; \
			for (i = 0; i < k; i++) print h[int(i * nh / k)] } }' $< >$@

# the control: every other pair of the helpfulness mix with its replies swapped
$(WORK)/prefs-shuffled.jsonl: $(WORK)/prefs-helpful.jsonl
	perl -MJSON::PP -ne '$$j = JSON::PP->new->canonical; $$p = $$j->decode($$_); @$$p{qw(chosen rejected)} = @$$p{qw(rejected chosen)} if $$. % 2 == 0; print $$j->encode($$p), "\n"' $< >$@

$(WORK)/rm-init.safetensors: $(WORK)/sft.safetensors $(call cmd,rm-init,$(REWARD))
	$(REWARD) init --seed 1 -o $@ $<

# a language model of the same configuration, never trained
$(WORK)/random.safetensors: $(WORK)/sft.safetensors
	$(BIN)/lm-info $< | awk -F': ' 'BEGIN { printf "{" } /^(dim|n_layers|n_heads|n_kv_heads|vocab_size|hidden_dim|max_seq_len|norm_eps|rope_theta|tied):/ \
		{ printf "%s\"%s\": %s", n++ ? ", " : "", $$1, $$2 } END { print "}" }' >$(WORK)/random.json
	$(BIN)/lm-convert --init $(WORK)/random.json --seed 2 $@
$(WORK)/rm-random-init.safetensors: $(WORK)/random.safetensors $(call cmd,rm-init,$(REWARD))
	$(REWARD) init --seed 1 -o $@ $<

$(WORK)/rm-helpful.safetensors $(WORK)/rm-safety.safetensors $(WORK)/rm-shuffled.safetensors: \
		$(WORK)/rm-%.safetensors: $(WORK)/prefs-%.jsonl $(WORK)/rm-init.safetensors $(WORK)/prefs-eval.jsonl \
		$(call cmd,rm,$(REWARD) $(RM_ARGS))
	$(MPIRUN) $(REWARD) train $(call resume,$(WORK)/rm-$*.part,--init $(WORK)/rm-init.safetensors) --tokenizer $(WORK)/tok.model \
		$(RM_ARGS) --val $(WORK)/prefs-eval.jsonl --metrics $(WORK)/rm-$*.metrics.jsonl -o $(WORK)/rm-$*.part $<
	$(call finish,$(WORK)/rm-$*.part)
$(WORK)/rm-random.safetensors: $(WORK)/prefs-helpful.jsonl $(WORK)/rm-random-init.safetensors \
		$(call cmd,rm,$(REWARD) $(RM_ARGS))
	$(MPIRUN) $(REWARD) train $(call resume,$(WORK)/rm-random.part,--init $(WORK)/rm-random-init.safetensors) \
		--tokenizer $(WORK)/tok.model $(RM_ARGS) --metrics $(WORK)/rm-random.metrics.jsonl -o $(WORK)/rm-random.part $<
	$(call finish,$(WORK)/rm-random.part)

$(WORK)/rm-helpful-eval.jsonl $(WORK)/rm-shuffled-eval.jsonl $(WORK)/rm-random-eval.jsonl: \
		$(WORK)/rm-%-eval.jsonl: $(WORK)/rm-%.safetensors $(WORK)/prefs-eval-helpful.jsonl
	$(REWARD) eval -t $(WORK)/tok.model -n $* -o $@ $< $(WORK)/prefs-eval-helpful.jsonl
$(WORK)/rm-safety-eval.jsonl: $(WORK)/rm-safety.safetensors $(WORK)/prefs-eval-safe.jsonl
	$(REWARD) eval -t $(WORK)/tok.model -n safety -o $@ $< $(WORK)/prefs-eval-safe.jsonl

$(WORK)/bow: samples/bow.c | $(WORK)
	$(CC) -O2 -o $@ samples/bow.c -lm
$(WORK)/bow-eval.json: $(WORK)/bow $(WORK)/prefs-helpful.jsonl $(WORK)/prefs-eval-helpful.jsonl
	cat $(WORK)/prefs-helpful.jsonl $(WORK)/prefs-eval-helpful.jsonl | $(WORK)/bow >$@
