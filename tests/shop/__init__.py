"""The web shop in-process (no browser): its forms' defences, its long polls, its
headers. Apart from tests/web, whose browser tests keep an event loop running."""
