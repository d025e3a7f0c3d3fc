// The Node half of tocker-runtime: create, exec and run arrive here from the C front end.
process.stderr.write('tocker-runtime: create and exec are not built yet\n');
process.exit(1);
