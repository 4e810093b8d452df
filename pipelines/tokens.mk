# tokens: the documents as token shards, for pretraining and its validation.
#   $(WORK)/mix.bin    the pretraining mix
#   $(WORK)/val.bin    the held-out documents

tokens: $(WORK)/mix.bin $(WORK)/val.bin

$(WORK)/mix.bin $(WORK)/val.bin: $(WORK)/%.bin: $(WORK)/%.jsonl $(WORK)/tok.model $(call cmd,tokenize,$(TOKENIZE))
	$(TOKENIZE) -m $(WORK)/tok.model --jsonl -o $@ $<
