package imagefamily

// FirstFound is the result a front's single-image outputs describe when
// several regions are looked up: the first region, in the order asked, that
// has an image. ok is false when none has; the single-image outputs are
// then empty. Every front follows this rule (the action's image-id and
// other image outputs, the data source's image_id, region and the other
// attributes); the CLI prints every region's image.
func FirstFound(results []Result) (r Result, ok bool) {
	for _, r := range results {
		if r.Err == nil && r.Image.ImageID != "" {
			return r, true
		}
	}
	return Result{}, false
}
