"""Anti-spoofing: SPF, DKIM, DMARC and ARC verdicts on who really sent a message (SPEC "Who may send").

- ``verdicts``  the results as plain data, and the pure decision: accept, refuse (550 5.7.1), defer (451)
- ``dmarc``     organizational domains, identifier alignment, DMARC records: pure
- ``resolver``  the configured DNS resolver (dnspython), in the forms dkimpy and pyspf call it
- ``checks``    the checks themselves with dkimpy and pyspf, in worker threads
- ``upstream``  Authentication-Results (RFC 8601) of a trusted relay
- ``gate``      what the SMTP handler calls at the end of DATA
"""
