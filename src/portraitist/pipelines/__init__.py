"""One module per model family: its configuration, its file format (`save_pretrained` /
`from_pretrained`) and its inference. Trainers export through these; engines run them."""
