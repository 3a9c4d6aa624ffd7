# The two set-up commands of the README:
#   make demo   set up .venv and run the demo (generate, fit, sample, evaluate, write the report)
#   make test   set up .venv with every extra and run the test suite
.PHONY: demo test setup setup-test bench clean

demo:
	bash scripts/setup.sh demo
	.venv/bin/simulacra demo

test:
	bash scripts/setup.sh test
	.venv/bin/python -m pytest -n 2 -q

clean:
	rm -rf .venv simulacra-demo .pytest_cache
