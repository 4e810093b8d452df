# tokens: the documents as token shards, for pretraining and its validation.
#   $(WORK)/train.bin, $(WORK)/val.bin

tokens: $(WORK)/train.bin $(WORK)/val.bin

$(WORK)/train.bin $(WORK)/val.bin: $(WORK)/%.bin: $(WORK)/%.jsonl $(WORK)/tok.model $(call cmd,tokenize,$(TOKENIZE))
	$(TOKENIZE) -m $(WORK)/tok.model --jsonl -o $@ $<
