package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
)

func init() {
	register("maintenance", "list maintenance windows, start or end an ad-hoc one (list|start|end)", runMaintenance)
}

var maintenanceVerbs = []verb{
	{"list", "", "list the running connector's maintenance windows: configured and ad-hoc, active or to come"},
	{"start", "", "start an ad-hoc maintenance window through the running connector's admin API"},
	{"end", "NAME", "end an ad-hoc maintenance window now: the alerts it holds are delivered or dropped as its on_end says"},
}

// runMaintenance works through the running connector's admin API: only it
// knows the windows in effect, and ad-hoc windows are in its store.
func runMaintenance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	v, rest, err := subcommand("maintenance", args, stderr, maintenanceVerbs...)
	if err != nil {
		return err
	}
	fs := verbFlags("maintenance", v, stderr)
	var (
		sf  storeFlags
		af  adminFlags
		req adminapi.MaintenanceStart
		end string
	)
	sf.register(fs)
	sf.registerJSON(fs, "print JSON, as the admin API answers")
	fs.StringVar(&af.addr, "admin", "",
		"the running connector's admin listener, host:port or URL (default $ITSM_ADMIN_ADDR, else the configuration's admin.listen)")
	if v.name == "start" {
		fs.StringVar(&req.Name, "name", "", "the window's `name` (letters, digits, '-', '_', '.')")
		fs.StringVar(&req.When, "when", "", "the alerts it holds: an HCL `expression` over alert, as a route's when (default: every alert)")
		fs.StringVar(&req.Duration, "for", "", "how long it lasts, e.g. 2h, 90m, 1d (or -end)")
		fs.StringVar(&end, "end", "", "when it ends, an RFC 3339 `time` (or -for)")
		start := fs.String("start", "", "when it starts, an RFC 3339 `time` (default now)")
		fs.StringVar(&req.OnEnd, "on-end", "create", "what alerts still firing at the end get: create (their work item) or drop (none)")
		fs.StringVar(&req.Reason, "reason", "", "why, e.g. a change ticket; shown in listings")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		for flag, dst := range map[string]struct {
			s string
			t *time.Time
		}{"-end": {end, &req.End}, "-start": {*start, &req.Start}} {
			if dst.s == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, dst.s)
			if err != nil {
				return fmt.Errorf("%s %q is not an RFC 3339 time; write e.g. 2026-03-01T22:00:00Z or 2026-03-01T23:00:00+01:00", flag, dst.s)
			}
			*dst.t = t
		}
		if req.Name == "" {
			return errors.New("-name is required")
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments %q; quote -when's expression", fs.Args())
		}
	} else if err := fs.Parse(rest); err != nil {
		return err
	}
	if v.name == "list" && fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var name string
	if v.name == "end" {
		if fs.NArg() != 1 {
			return errors.New("expected exactly one window name")
		}
		name = fs.Arg(0)
	}
	cfg, err := sf.load(stderr)
	if err != nil {
		return err
	}
	if af.addr == "" {
		af.addr = os.Getenv("ITSM_ADMIN_ADDR")
	}
	c, err := af.client(cfg)
	if err != nil {
		return err
	}
	switch v.name {
	case "start":
		w, err := c.StartMaintenance(ctx, req)
		if err != nil {
			return maintenanceError(c, err)
		}
		if sf.asJSON {
			return printJSON(stdout, w)
		}
		fmt.Fprintf(stdout, "maintenance window %s started by the connector at %s: %s to %s, on_end %s\n", termText(w.Name), c.BaseURL,
			w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), termText(w.OnEnd))
		return nil
	case "end":
		e, err := c.EndMaintenance(ctx, name)
		if err != nil {
			return maintenanceError(c, err)
		}
		if sf.asJSON {
			return printJSON(stdout, e)
		}
		fmt.Fprintf(stdout, "maintenance window %s ended by the connector at %s; %d work item(s) it held are due now (on_end %s)\n",
			termText(e.Window.Name), c.BaseURL, e.Released, termText(e.Window.OnEnd))
		return nil
	}
	l, err := c.ListMaintenance(ctx)
	if err != nil {
		return maintenanceError(c, err)
	}
	if sf.asJSON {
		return printJSON(stdout, l)
	}
	if len(l.Windows) == 0 {
		fmt.Fprintln(stdout, "no maintenance windows")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tSTATE\tSTART\tEND\tON END\tWHEN")
	for _, w := range l.Windows {
		state, start, end := "ended", "-", "-"
		switch {
		case w.Active:
			state = "active"
		case !w.Start.IsZero():
			state = "upcoming"
		}
		if !w.Start.IsZero() {
			start, end = w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)
		}
		when := w.When
		if when == "" {
			when = "(every alert)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termText(w.Name), w.Source, state, start, end, termText(w.OnEnd), termText(when))
	}
	return tw.Flush()
}

// maintenanceError explains an admin API failure of a maintenance command.
func maintenanceError(c *adminapi.Client, err error) error {
	if errors.Is(err, adminapi.ErrUnreachable) {
		return fmt.Errorf("%w; nothing was done. Is the connector running? Set -admin (or ITSM_ADMIN_ADDR) to its admin listener", err)
	}
	return explain(c, err)
}
