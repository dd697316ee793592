

def test_learns_a_bigram_table(plugins):
    import torch

    registration = plugins.registry("architecture").get("__PART__")
    model = registration.implementation(dict(registration.metadata["default_config"]), 5)
    tokens = torch.tensor([0, 1, 2, 3, 4] * 8).view(-1, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        logits, state = model(tokens[:-1])
        loss = torch.nn.functional.cross_entropy(logits.view(-1, 5), tokens[1:].view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert state is None and loss.item() < 0.05
