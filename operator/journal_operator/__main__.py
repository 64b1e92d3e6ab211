"""Command-line entry point placeholder; replaced as the API is built."""


def main() -> None:
    raise SystemExit("journal_operator: not built yet")


if __name__ == "__main__":
    main()
