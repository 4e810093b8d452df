# pretrain: a Llama 2 model of the preset's MODEL size trained from scratch on
# mix.bin, validated on val.bin as it goes.
#   $(WORK)/pretrain.safetensors          the model (and its .state, to resume)
#   $(WORK)/pretrain.part                 the checkpoint while it trains; kept when
#                                         interrupted, and the next make resumes it
#   $(WORK)/pretrain.metrics.jsonl        loss per step, val_loss every few

pretrain: $(WORK)/pretrain.safetensors

$(WORK)/pretrain.safetensors: $(WORK)/mix.bin $(WORK)/val.bin $(call cmd,pretrain,$(PRETRAIN) $(MODEL) $(PRETRAIN_ARGS))
	$(MPIRUN) $(PRETRAIN) $(call resume,$(WORK)/pretrain.part,$(MODEL)) $(PRETRAIN_ARGS) --val $(WORK)/val.bin \
		--metrics $(WORK)/pretrain.metrics.jsonl -o $(WORK)/pretrain.part $(WORK)/mix.bin
	$(call finish,$(WORK)/pretrain.part)
