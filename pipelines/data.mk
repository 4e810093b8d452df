# data: clean the raw documents, remove duplicates, hold out a validation split.
#   $(WORK)/clean.jsonl   what CLEAN kept of RAW
#   $(WORK)/dedup.jsonl   what DEDUP kept of that
#   $(WORK)/train.jsonl   the documents to pretrain on and train the tokenizer on
#   $(WORK)/val.jsonl     every VAL_EVERY-th document, held out
#   $(WORK)/mix.jsonl     the pretraining mix: train.jsonl with the documents of
#                         the sources named in UPSAMPLE repeated, as Llama 2
#                         up-samples its most factual sources

data: $(WORK)/mix.jsonl $(WORK)/val.jsonl

$(WORK)/clean.jsonl: $(RAW) $(call cmd,clean,$(CLEAN)) | $(WORK)
	$(CLEAN) <$(RAW) >$@

$(WORK)/dedup.jsonl: $(WORK)/clean.jsonl $(call cmd,dedup,$(DEDUP))
	$(DEDUP) <$(WORK)/clean.jsonl >$@

$(WORK)/train.jsonl: $(WORK)/dedup.jsonl $(call cmd,split,$(VAL_EVERY))
	awk 'NR % $(VAL_EVERY) != 0' $(WORK)/dedup.jsonl >$@

$(WORK)/val.jsonl: $(WORK)/dedup.jsonl $(call cmd,split,$(VAL_EVERY))
	awk 'NR % $(VAL_EVERY) == 0' $(WORK)/dedup.jsonl >$@

# UPSAMPLE: "SOURCE=TIMES ..." by the documents' "source" member; empty: no repeat
$(WORK)/mix.jsonl: $(WORK)/train.jsonl $(call cmd,mix,$(UPSAMPLE))
	perl -MJSON::PP -e 'my %times = map { split /=/ } split " ", shift; while (<>) { my $$s = decode_json($$_)->{source} // ""; print $$_ x ($$times{$$s} // 1) }' \
		'$(UPSAMPLE)' $(WORK)/train.jsonl >$@
