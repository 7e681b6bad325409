"""Control: the accepted reference and nothing hostile.  Expect full marks; proves the
corpus' grading run works, so that "nothing escaped" below is not vacuous."""
print("HOSTILE control: ran", flush=True)
