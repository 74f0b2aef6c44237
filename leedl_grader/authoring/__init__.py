"""What a check file imports: the check decorator and context, comparisons, trained models."""
