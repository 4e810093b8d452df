# tokenizer: a BPE vocabulary of VOCAB pieces trained on the training documents.
#   $(WORK)/tok.model     SentencePiece model

tokenizer: $(WORK)/tok.model

$(WORK)/tok.model: $(WORK)/train.jsonl $(call cmd,bpe,$(BPE) -n $(VOCAB))
	$(BPE) -n $(VOCAB) -o $@ $(WORK)/train.jsonl
