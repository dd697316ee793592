

def test_overfits_a_few_labelled_lines(plugins, tmp_path):
    from textseq import FitSettings, load_classifier, train_classifier

    lines = [
        "__label__sunny a bright warm day with blue sky",
        "__label__rainy a grey wet day with dark clouds",
        "__label__sunny warm sun and blue sky all day",
        "__label__rainy dark clouds and wet streets all day",
    ]
    output = str(tmp_path / "weather.tsc")
    settings = FitSettings(epochs=20, batch_size=2, lr=0.1, threads=1)
    result = train_classifier(lines, arch="__PART__", config={"dim": 8}, output=output, valid_lines=lines, settings=settings)
    assert result.saved.metrics["valid_accuracy"] == 1.0 and result.saved.metrics["valid_loss"] < 0.01
    saved = load_classifier(output)  # rebuilt through the registry from what the file records
    assert saved.name == "__PART__" and saved.classifier.config["dim"] == 8
    guesses = saved.log_probabilities([["blue", "sky"], ["wet", "clouds"]]).argmax(axis=1)
    assert [saved.labels.name_of(int(index)) for index in guesses] == ["sunny", "rainy"]
