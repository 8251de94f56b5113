from studio.core.model.links import link_label


def test_link_label_names_what_opens():
    assert link_label("https://github.com/karpathy/llama2.c") == "Open the repository ↗"
    assert link_label("https://gist.github.com/karpathy/8627fe009c40f57531cb18360106ce95") == "Open the code ↗"
    assert link_label("https://arxiv.org/abs/2307.09288") == "Read the paper ↗"
    assert link_label("https://cdn.openai.com/better-language-models/language-models.pdf") == "Read the paper ↗"
    assert link_label("https://huggingface.co/moonshotai/Kimi-K2.6") == "Open the model page ↗"
    assert link_label("https://openai.com/blog/chatgpt") == "Read the post ↗"
