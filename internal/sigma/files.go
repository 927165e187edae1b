package sigma

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ReadInputs reads the Sigma files named by paths, in order: a file as
// is, a directory's *.yml and *.yaml files at any depth, sorted by path.
// An unreadable path, or a directory without Sigma files, is an error.
func ReadInputs(paths []string) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read sigma rules: %w", err)
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read sigma rules: %w", err)
			}
			out = append(out, Input{Name: p, Data: data})
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml")) {
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read sigma rules: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("read sigma rules: %s holds no *.yml or *.yaml file", p)
		}
		slices.Sort(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read sigma rules: %w", err)
			}
			out = append(out, Input{Name: filepath.ToSlash(f), Data: data})
		}
	}
	return out, nil
}

// ReadPlaceholders reads the lists of PlaceholdersFile in dir; none when
// the file does not exist.
func ReadPlaceholders(dir string) (map[string][]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, PlaceholdersFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read placeholders: %w", err)
	}
	return ParseLists(data)
}

// Write writes the files of res into dir, which it creates when missing.
// Files already there with other names are left alone.
func Write(dir string, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write imported rules: %w", err)
	}
	names := make([]string, 0, len(res.Files))
	for n := range res.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), res.Files[n], 0o644); err != nil {
			return fmt.Errorf("write imported rules: %w", err)
		}
	}
	return nil
}
