"""What was sent and where it waits: the manifest (typed records, version 1 and 2 read, its digest),
its field checks, the batch input files, the one send routine (upload, copy, create, each step saved),
the store (a folder or workflow artifacts of trusted runs) and adoption of batches whose manifest was
never stored. Imports only the core; services are passed in."""
