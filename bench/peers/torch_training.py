# What the PyTorch peers share: webrlhf's training step as PyTorch code (AdamW with weight decay
# on matrices and embeddings only, a language-model loss, global-norm clipping at 1).
import torch


def webrlhf_adamw(model, lr):
    """AdamW as webrlhf's: decay 0.01 on parameters of two or more dimensions, none on the rest."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': rest, 'weight_decay': 0.0}],
                             lr=lr, betas=(0.9, 0.999), eps=1e-8)


def lm_train_step(model, opt, ids, losses):
    """A step function: forward with labels = ids, backward, clip at 1, AdamW; appends each loss.
    Gradients are zeroed in place (not freed) so their memory stays counted between steps."""
    def step():
        opt.zero_grad(set_to_none=False)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return step
